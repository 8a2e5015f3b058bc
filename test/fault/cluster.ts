/**
 * The local three-node cluster of the cluster fault tests: its own state dir and ports, so it runs beside
 * the single-node stack that `npm test` starts. Ports are the suite's base ports plus
 * ADME_CLUSTER_PORT_OFFSET (100): Kafka 9192-9194 (controllers 9195-9197), Cassandra 127.0.0.1-3:9142
 * (storage 7100), FerretDB 27117 with the defaults.
 */
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { loadStackConfig, type StackConfig } from '../../stack/index.js';
import { ROOT, stackConfig } from '../support/env.js';

export const CLUSTER_NODES = 3;

export function clusterConfig(): StackConfig {
  const base = stackConfig();
  const raw = process.env.ADME_CLUSTER_PORT_OFFSET;
  const offset = raw === undefined || raw === '' ? 100 : Number(raw);
  if (!Number.isInteger(offset) || offset < 1) throw new Error(`ADME_CLUSTER_PORT_OFFSET: must be a positive integer, got "${raw}"`);
  const env: Record<string, string | undefined> = {
    ...process.env,
    KAFKA_BROKERS: undefined, CASSANDRA_CONTACT_POINTS: undefined, MONGO_URL: undefined, ADME_KAFKA_CONTROLLER_PORT: undefined,
    ADME_NODES: String(CLUSTER_NODES),
    ADME_STATE_DIR: join(base.stateDir, 'cluster-test'),
    ADME_KAFKA_PORT: String(base.kafka.port + offset),
    ADME_CASSANDRA_PORT: String(base.cassandra.port + offset),
    ADME_CASSANDRA_STORAGE_PORT: String(base.cassandra.storagePort + offset),
    ADME_MONGO_PORT: String(base.mongo.port + offset),
  };
  return loadStackConfig(ROOT, env);
}

export const adminOf = (c: StackConfig) => new Kafka({ clientId: 'adme-cluster-test', brokers: c.kafka.brokers, logLevel: logLevel.NOTHING }).admin();

/** Partition → { leader, replicas, isr } of a topic. */
export async function topicLayout(c: StackConfig, topic: string): Promise<Map<number, { leader: number; replicas: number[]; isr: number[] }>> {
  const admin = adminOf(c);
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return new Map((meta.topics[0]?.partitions ?? []).map((p) => [p.partitionId, { leader: p.leader, replicas: p.replicas, isr: p.isr }]));
  } finally {
    await admin.disconnect();
  }
}

/** A topic's `min.insync.replicas`. */
export async function topicMinIsr(c: StackConfig, topic: string): Promise<number> {
  const admin = adminOf(c);
  await admin.connect();
  try {
    const r = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['min.insync.replicas'] }], includeSynonyms: false });
    return Number(r.resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue);
  } finally {
    await admin.disconnect();
  }
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
