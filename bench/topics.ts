/** The benchmarks' topics: replicated the way AdME creates its own, and known to every broker before use. */
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '../runtime/index.js';

/**
 * Creates `topics` (missing ones) with `partitions` partitions and the replication AdME derives from the
 * cluster (3 replicas and min ISR 2 on three brokers, as the gateway's topic), then waits until every
 * broker's metadata has each partition with a leader: right after a create, a broker that has not heard
 * of the topic yet answers "does not host this topic-partition", which fails a producer's first send.
 */
export async function benchTopics(brokers: readonly string[], topics: readonly string[], partitions: number, timeoutMs = 60_000): Promise<void> {
  await ensureTopics(new Kafka({ clientId: 'adme-bench-topics', brokers: [...brokers], logLevel: logLevel.NOTHING }), topics.map((topic) => ({ topic, partitions })));
  const deadline = Date.now() + timeoutMs;
  for (const broker of brokers) {
    const admin = new Kafka({ clientId: 'adme-bench-topics', brokers: [broker], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      for (;;) {
        const meta = await admin.fetchTopicMetadata({ topics: [...topics] }).catch(() => undefined);
        if (meta && meta.topics.length === topics.length && meta.topics.every((t) => t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0))) break;
        if (Date.now() > deadline) throw new Error(`broker ${broker} does not know topics ${topics.join(', ')} ${timeoutMs / 1000} s after they were created`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await admin.disconnect();
    }
  }
}
