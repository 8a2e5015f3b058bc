import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { VERSIONS, type StackConfig } from './config.js';
import { ProvisionError, mavenCopyDependencies, provisionOnce, runWithHeartbeat } from './provision.js';
import type { ServerDef } from './server.js';
import { findJava17, requireTool } from './tools.js';

export const kafkaHome = (c: StackConfig) => join(c.cacheDir, `kafka-${VERSIONS.kafka}`);
const stateOf = (c: StackConfig) => join(c.stateDir, 'kafka');

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

export function kafkaServerProperties(c: StackConfig, logDir: string): string {
  const p = c.kafka.port;
  const cp = c.kafka.controllerPort;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${cp}`,
    `listeners=PLAINTEXT://127.0.0.1:${p},CONTROLLER://127.0.0.1:${cp}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${p}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${logDir}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'min.insync.replicas=1',
    'default.replication.factor=1',
    // Every consumer-group join would otherwise wait 3 s for more members.
    'group.initial.rebalance.delay.ms=0',
    // Lets runtimes ask for sessions down to 1 s (the broker's default floor is 6 s), so a killed runtime's
    // partitions move within a few seconds. A runtime whose heartbeats stall for longer than its session
    // loses its partitions (safe, fenced by epochs, but a rebalance): docs/runtime.md says how to choose.
    'group.min.session.timeout.ms=1000',
    'auto.create.topics.enable=false',
    'log.retention.hours=168',
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
  port: (c) => c.kafka.port,
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

  async prepare(c, progress) {
    const java = findJava17(c.javaHome);
    const state = stateOf(c);
    const dataDir = join(state, 'data');
    mkdirSync(dataDir, { recursive: true });
    const propsFile = join(state, 'server.properties');
    writeFileSync(propsFile, kafkaServerProperties(c, dataDir));
    const log4jFile = join(state, 'log4j2.properties');
    writeFileSync(log4jFile, LOG4J2);
    const jvm = [`-Xms${c.kafka.heap}`, `-Xmx${c.kafka.heap}`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${log4jFile}`, `-Dkafka.logs.dir=${join(state, 'logs')}`, '-cp', kafkaClasspath(c)];

    if (!existsSync(join(dataDir, 'meta.properties'))) {
      const idFile = join(state, 'cluster-id');
      // A saved id starting with '-' never formatted (see newClusterId): replace it.
      if (!existsSync(idFile) || readFileSync(idFile, 'utf8').startsWith('-')) writeFileSync(idFile, newClusterId() + '\n');
      const clusterId = readFileSync(idFile, 'utf8').trim();
      progress('kafka: formatting storage (first start of this state dir)');
      try {
        await runWithHeartbeat(java, [...jvm.filter((a) => !a.startsWith('-Xm')), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile, '--ignore-formatted'],
          { cwd: state, progress, what: 'kafka: format' });
      } catch (err) {
        throw new ProvisionError('kafka', 'formatting storage', (err as Error).message);
      }
    }
    return { command: java, args: [...jvm, 'kafka.Kafka', propsFile] };
  },

  async probe(c) {
    const client = new Kafka({ clientId: 'adme-stack-probe', brokers: c.kafka.brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1000, requestTimeout: 2000, retry: { retries: 0 } });
    const admin = client.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0 && cluster.controller !== null;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
};
