/**
 * A produce that resolves only when Kafka acknowledged every partition it was asked to write, each once.
 *
 * kafkajs 2.2.4 gets leader changes wrong when one `send`/`sendBatch` spans partitions led by several
 * brokers. The call sends one request per leader; when one of them fails (its broker was killed, or it
 * answered NOT_LEADER for one of its partitions), kafkajs refreshes the metadata and retries, and:
 *
 * - it skips every broker that answered an earlier attempt, so a partition whose leadership moved to such
 *   a broker is never sent again, and the call resolves as if it had been written (the open kafkajs pull
 *   request #1798 describes this map of answers kept across retries). The local three-node cluster lost
 *   68 and 356 of 24 000 acknowledged events this way; a loop of sends with a leader killed loses a batch;
 * - a request whose answer mixes a written partition with a failed one is failed as a whole, and the
 *   retries that follow wrote such a partition's batch twice in the same loop (3 records, found by reading
 *   the log back), with nothing in the answer to show it.
 *
 * So a batch is sent as one call per partition, all at once: each request then carries one partition,
 * and its answer is all or nothing. kafkajs's retries of a failed call resend the same batch with the
 * same sequence numbers, which the new leader recognises as a duplicate if the dead one had replicated
 * it — Kafka's own guarantee for an idempotent producer. The answer is still checked, and a partition it
 * leaves out is sent again. Requests to one broker go out one at a time (kafkajs serialises an idempotent
 * producer per broker): a 12-partition flush of 240 KiB took 10 ms instead of 4.7 ms on one local broker
 * (docs/deploy.md). Callers keep one send in flight per producer, so no other call can take a sequence
 * number that kafkajs rolled back.
 */
import type { CompressionTypes, Message, RecordMetadata } from 'kafkajs';

/** What `sendAcknowledged` needs of a kafkajs producer. */
export interface BatchProducer {
  sendBatch(batch: { topicMessages: { topic: string; messages: Message[] }[]; acks?: number; timeout?: number; compression?: CompressionTypes }): Promise<RecordMetadata[]>;
}

export interface AcknowledgedBatch {
  /** Every message names its partition: the check needs to know where each one was meant to go. */
  readonly topicMessages: readonly { readonly topic: string; readonly messages: readonly Message[] }[];
  readonly acks?: number;
  readonly timeout?: number;
  readonly compression?: CompressionTypes;
}

/** Calls in all before a batch with partitions still unacknowledged fails. */
export const SEND_ROUNDS = 4;

/** Some partitions were still not acknowledged after every round: their messages may not be in Kafka. */
export class UnacknowledgedPartitionsError extends Error {
  constructor(readonly partitions: readonly string[], rounds: number) {
    super(`Kafka did not acknowledge ${partitions.join(', ')} after ${rounds} sends`);
    this.name = 'UnacknowledgedPartitionsError';
  }
}

const key = (topic: string, partition: number) => `${topic}/${partition}`;

/**
 * Sends the batch, one call per partition, all at once, and re-sends (up to `rounds` calls per
 * partition) any partition an answer leaves out. Resolves with every partition's acknowledgement once
 * all are in; otherwise waits for every call to settle, then rejects with the first error (kafkajs's, or
 * `UnacknowledgedPartitionsError`): nothing is still in flight when it returns. `onResend` hears of each
 * re-send (for a log or a metric).
 */
export async function sendAcknowledged(
  producer: BatchProducer, batch: AcknowledgedBatch, rounds = SEND_ROUNDS, onResend?: (partitions: readonly string[]) => void,
): Promise<RecordMetadata[]> {
  const groups = new Map<string, { topic: string; partition: number; messages: Message[] }>();
  for (const t of batch.topicMessages) {
    for (const m of t.messages) {
      if (typeof m.partition !== 'number') throw new TypeError(`sendAcknowledged: a message for topic ${t.topic} names no partition`);
      const k = key(t.topic, m.partition);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { topic: t.topic, partition: m.partition, messages: [] }));
      g.messages.push(m);
    }
  }
  const options = {
    ...(batch.acks === undefined ? {} : { acks: batch.acks }),
    ...(batch.timeout === undefined ? {} : { timeout: batch.timeout }),
    ...(batch.compression === undefined ? {} : { compression: batch.compression }),
  };
  const sendPartition = async (g: { topic: string; partition: number; messages: Message[] }): Promise<RecordMetadata> => {
    for (let round = 1; ; round++) {
      const answer = await producer.sendBatch({ topicMessages: [{ topic: g.topic, messages: g.messages }], ...options });
      const ack = answer.find((m) => m.errorCode === 0 && m.topicName === g.topic && m.partition === g.partition);
      if (ack) return ack;
      const missing = [key(g.topic, g.partition)];
      if (round >= rounds) throw new UnacknowledgedPartitionsError(missing, rounds);
      onResend?.(missing);
    }
  };
  const settled = await Promise.allSettled([...groups.values()].map(sendPartition));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<RecordMetadata>).value);
}
