import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { VERSIONS, nodeDir, range, type StackConfig } from './config.js';
import { ProvisionError, mavenCopyDependencies, provisionOnce, runWithHeartbeat } from './provision.js';
import type { ServerDef } from './server.js';
import { findJava17, requireTool } from './tools.js';

export const kafkaHome = (c: StackConfig) => join(c.cacheDir, `kafka-${VERSIONS.kafka}`);
const stateOf = (c: StackConfig, node: number) => nodeDir(c, 'kafka', c.nodes, node);
/** The cluster id every node is formatted with, kept beside node 1 (or the single node). */
const clusterIdFile = (c: StackConfig) => join(stateOf(c, 1), 'cluster-id');

/** Classpath of the resolved Kafka jars (broker, tools, log4j2 binding). */
export const kafkaClasspath = (c: StackConfig) => join(kafkaHome(c), 'lib', '*');

/** A Kafka cluster id: 16 random bytes, base64url without padding (what `kafka-storage random-uuid` prints). */
/**
 * A random cluster id (16 bytes, base64url), never starting with '-': the storage tool would read such an
 * id as an option and fail (one start in 64). Kafka's own `Uuid.randomUuid` avoids them the same way.
 */
export function newClusterId(random: () => Buffer = () => randomBytes(16)): string {
  for (;;) {
    const id = random().toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Listener and controller ports of node n (1-based). */
export const kafkaPorts = (c: StackConfig, node: number) => ({ port: c.kafka.port + node - 1, controllerPort: c.kafka.controllerPort + node - 1 });

/**
 * server.properties of node n: a combined broker+controller; with several nodes every one is a voter of
 * a static quorum, and internal topics are replicated like AdME's own (min(3, nodes), min ISR 2 of 3).
 */
export function kafkaServerProperties(c: StackConfig, logDir: string, node = 1): string {
  const { port: p, controllerPort: cp } = kafkaPorts(c, node);
  const rf = Math.min(3, c.nodes);
  const minIsr = rf >= 3 ? 2 : 1;
  const voters = range(c.nodes).map((n) => `${n}@127.0.0.1:${kafkaPorts(c, n).controllerPort}`).join(',');
  return [
    'process.roles=broker,controller',
    `node.id=${node}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${p},CONTROLLER://127.0.0.1:${cp}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${p}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${logDir}`,
    'num.partitions=1',
    `offsets.topic.replication.factor=${rf}`,
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${minIsr}`,
    `share.coordinator.state.topic.replication.factor=${rf}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
    `min.insync.replicas=${minIsr}`,
    `default.replication.factor=${rf}`,
    // Every consumer-group join would otherwise wait 3 s for more members.
    'group.initial.rebalance.delay.ms=0',
    // Lets runtimes ask for sessions down to 1 s (the broker's default floor is 6 s), so a killed runtime's
    // partitions move within a few seconds. A runtime whose heartbeats stall for longer than its session
    // loses its partitions (safe, fenced by epochs, but a rebalance): docs/runtime.md says how to choose.
    'group.min.session.timeout.ms=1000',
    'auto.create.topics.enable=false',
    'log.retention.hours=168',
    ...(c.nodes > 1 ? [
      // A killed broker is fenced (its partitions' leadership moves) after this long without a
      // heartbeat; Kafka's 9 s default would hold producers of its partitions that long.
      'broker.heartbeat.interval.ms=1000',
      'broker.session.timeout.ms=4000',
      // A replica rejoining after a kill catches up from the leader; allow it time on a loaded machine.
      'replica.lag.time.max.ms=10000',
    ] : []),
    '',
  ].join('\n');
}

const LOG4J2 = [
  'status = warn',
  'appender.console.type = Console',
  'appender.console.name = STDOUT',
  'appender.console.layout.type = PatternLayout',
  'appender.console.layout.pattern = [%d] %p %m (%c)%n',
  'rootLogger.level = WARN',
  'rootLogger.appenderRef.stdout.ref = STDOUT',
  // One INFO line we rely on to tell a boot from a hang.
  'logger.server.name = kafka.server.KafkaRaftServer',
  'logger.server.level = INFO',
  '',
].join('\n');

export const kafka: ServerDef = {
  name: 'kafka',
  label: `Kafka ${VERSIONS.kafka} (KRaft)`,
  nodes: (c) => c.nodes,
  listen: (c, node) => `127.0.0.1:${kafkaPorts(c, node).port}`,
  external: (c) => c.kafka.external,
  address: (c) => c.kafka.brokers.join(','),

  async provision(c, progress) {
    if (existsSync(join(kafkaHome(c), '.complete'))) return;
    requireTool('mvn', 'install Maven (Debian: apt-get install maven); it resolves the Kafka jars from Maven Central');
    progress(`kafka: resolving Kafka ${VERSIONS.kafka} jars from Maven Central (first run only, ~1 min)`);
    try {
      await provisionOnce(kafkaHome(c), (tmp) =>
        mavenCopyDependencies(join(c.projectDir, 'stack', 'kafka', 'pom.xml'), { 'kafka.version': VERSIONS.kafka, 'log4j.version': VERSIONS.log4j }, tmp, progress, 'kafka: maven'),
      );
    } catch (err) {
      throw new ProvisionError('kafka', 'resolving jars with Maven', (err as Error).message);
    }
    progress(`kafka: jars cached in ${kafkaHome(c)}`);
  },

  async prepare(c, node, progress) {
    const java = findJava17(c.javaHome);
    const state = stateOf(c, node);
    const who = c.nodes > 1 ? `kafka/${node}` : 'kafka';
    const dataDir = join(state, 'data');
    mkdirSync(dataDir, { recursive: true });
    const propsFile = join(state, 'server.properties');
    writeFileSync(propsFile, kafkaServerProperties(c, dataDir, node));
    const log4jFile = join(state, 'log4j2.properties');
    writeFileSync(log4jFile, LOG4J2);
    const jvm = [`-Xms${c.kafka.heap}`, `-Xmx${c.kafka.heap}`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${log4jFile}`, `-Dkafka.logs.dir=${join(state, 'logs')}`, '-cp', kafkaClasspath(c)];

    if (!existsSync(join(dataDir, 'meta.properties'))) {
      const idFile = clusterIdFile(c);
      mkdirSync(stateOf(c, 1), { recursive: true });
      // A saved id starting with '-' never formatted (see newClusterId): replace it.
      if (!existsSync(idFile) || readFileSync(idFile, 'utf8').startsWith('-')) writeFileSync(idFile, newClusterId() + '\n');
      const clusterId = readFileSync(idFile, 'utf8').trim();
      progress(`${who}: formatting storage (first start of this state dir)`);
      try {
        await runWithHeartbeat(java, [...jvm.filter((a) => !a.startsWith('-Xm')), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile, '--ignore-formatted'],
          { cwd: state, progress, what: `${who}: format` });
      } catch (err) {
        throw new ProvisionError('kafka', 'formatting storage', (err as Error).message);
      }
    }
    return { command: java, args: [...jvm, 'kafka.Kafka', propsFile] };
  },

  async probe(c, node) {
    const brokers = node === 0 ? c.kafka.brokers : [`127.0.0.1:${kafkaPorts(c, node).port}`];
    const client = new Kafka({ clientId: 'adme-stack-probe', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1000, requestTimeout: 2000, retry: { retries: 0 } });
    const admin = client.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      // Node n is ready once it is a registered (unfenced) broker of a cluster with an active controller.
      return cluster.controller !== null && (node === 0 ? cluster.brokers.length > 0 : cluster.brokers.some((b) => b.nodeId === node));
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
};
