import type { RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { UnacknowledgedPartitionsError, sendAcknowledged, type BatchProducer } from '../../../runtime/index.js';
import { chunkByBytes } from '../../../runtime/adapters/kafka.js';

type Batch = Parameters<BatchProducer['sendBatch']>[0];

const ack = (topicName: string, partition: number, errorCode = 0): RecordMetadata => ({ topicName, partition, errorCode, baseOffset: '0' });

/** A producer whose answers are scripted: call n for partition `topic/p` is acknowledged unless `drop(k, n)`. */
function scripted(drop: (partition: string, call: number) => boolean = () => false): BatchProducer & { calls: Batch[] } {
  const calls: Batch[] = [];
  const perPartition = new Map<string, number>();
  return {
    calls,
    sendBatch(batch) {
      calls.push(batch);
      const asked = batch.topicMessages.flatMap((t) => [...new Set(t.messages.map((m) => `${t.topic}/${m.partition}`))]);
      return Promise.resolve(asked.filter((k) => {
        const n = (perPartition.get(k) ?? 0) + 1;
        perPartition.set(k, n);
        return !drop(k, n);
      }).map((k) => { const [t, p] = k.split('/'); return ack(t!, Number(p)); }));
    },
  };
}

const msgs = (...partitions: number[]) => partitions.map((partition, i) => ({ partition, value: Buffer.from(`m${i}`) }));
const sorted = (acks: RecordMetadata[]) => acks.map((m) => `${m.topicName}/${m.partition}`).sort();

describe('sendAcknowledged: every partition acknowledged, one request per partition', () => {
  it('sends one call per partition, with its messages in order and the batch\'s options', async () => {
    const p = scripted();
    const acked = await sendAcknowledged(p, { acks: -1, timeout: 500, topicMessages: [{ topic: 'ev', messages: msgs(0, 1, 2, 1) }, { topic: 'x', messages: msgs(1) }] });
    expect(p.calls).toHaveLength(4);
    for (const c of p.calls) {
      expect(c).toMatchObject({ acks: -1, timeout: 500 });
      expect(c.topicMessages).toHaveLength(1);
      expect(new Set(c.topicMessages[0]!.messages.map((m) => m.partition)).size).toBe(1);
    }
    expect(p.calls.find((c) => c.topicMessages[0]!.topic === 'ev' && c.topicMessages[0]!.messages[0]!.partition === 1)!.topicMessages[0]!.messages)
      .toEqual([{ partition: 1, value: Buffer.from('m1') }, { partition: 1, value: Buffer.from('m3') }]);
    expect(sorted(acked)).toEqual(['ev/0', 'ev/1', 'ev/2', 'x/1']);
  });

  it('re-sends a partition an answer left out (the kafkajs retry that skips a broker), and only that one', async () => {
    const p = scripted((k, n) => k === 'ev/1' && n === 1);
    const resent: string[][] = [];
    const acked = await sendAcknowledged(p, { topicMessages: [{ topic: 'ev', messages: msgs(0, 1, 2) }] }, 4, (m) => resent.push([...m]));
    expect(p.calls).toHaveLength(4);
    expect(resent).toEqual([['ev/1']]);
    expect(sorted(acked)).toEqual(['ev/0', 'ev/1', 'ev/2']);
  });

  it('an answer with an error code counts as not acknowledged', async () => {
    let call = 0;
    const p: BatchProducer = { sendBatch: () => Promise.resolve(++call === 1 ? [ack('ev', 0, 6)] : [ack('ev', 0)]) };
    expect(sorted(await sendAcknowledged(p, { topicMessages: [{ topic: 'ev', messages: msgs(0) }] }))).toEqual(['ev/0']);
    expect(call).toBe(2);
  });

  it('fails, naming the partition, when it is still missing after the last round', async () => {
    const p = scripted((k) => k === 'ev/2');
    const err = await sendAcknowledged(p, { topicMessages: [{ topic: 'ev', messages: msgs(0, 1, 2) }] }, 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnacknowledgedPartitionsError);
    expect((err as UnacknowledgedPartitionsError).partitions).toEqual(['ev/2']);
    expect((err as Error).message).toBe('Kafka did not acknowledge ev/2 after 3 sends');
    expect(p.calls.filter((c) => c.topicMessages[0]!.messages[0]!.partition === 2)).toHaveLength(3);
  });

  it('rejects only once every call has settled, with the failed call\'s error', async () => {
    let slowDone = false;
    const p: BatchProducer = {
      sendBatch: (b) => (b.topicMessages[0]!.messages[0]!.partition === 0
        ? Promise.reject(new Error('connection closed'))
        : new Promise((r) => setTimeout(() => { slowDone = true; r([ack('ev', 1)]); }, 50))),
    };
    await expect(sendAcknowledged(p, { topicMessages: [{ topic: 'ev', messages: msgs(0, 1) }] })).rejects.toThrow('connection closed');
    expect(slowDone).toBe(true);
  });

  it('refuses a message without a partition before sending anything; an empty batch sends nothing', async () => {
    const p = scripted();
    await expect(sendAcknowledged(p, { topicMessages: [{ topic: 'ev', messages: [...msgs(0), { value: 'no partition' }] }] })).rejects.toThrow('a message for topic ev names no partition');
    expect(await sendAcknowledged(p, { topicMessages: [{ topic: 'ev', messages: [] }] })).toEqual([]);
    expect(p.calls).toHaveLength(0);
  });
});

describe('chunkByBytes: the requests of a sink, in order, each under the byte limit', () => {
  const r = (n: number, tag: string) => ({ tag, value: Buffer.alloc(n) });
  const tags = (chunks: { tag: string }[][]) => chunks.map((c) => c.map((x) => x.tag).join(''));

  it('fills each request up to the limit, starts the next one at the record that would pass it', () => {
    expect(tags(chunkByBytes([r(4, 'a'), r(4, 'b'), r(2, 'c'), r(1, 'd'), r(10, 'e')], 10))).toEqual(['abc', 'd', 'e']);
  });

  it('a record bigger than the limit goes alone; nothing in, nothing out', () => {
    expect(tags(chunkByBytes([r(1, 'a'), r(30, 'b'), r(1, 'c')], 10))).toEqual(['a', 'b', 'c']);
    expect(chunkByBytes([], 10)).toEqual([]);
  });
});
