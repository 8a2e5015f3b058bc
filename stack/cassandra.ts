import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import cassandraDriver from 'cassandra-driver';
import { VERSIONS, cassandraHost, nodeDir, range, type StackConfig } from './config.js';
import { ProvisionError, mavenCopyDependencies, provisionOnce } from './provision.js';
import type { ServerDef } from './server.js';
import { findJava17, requireTool } from './tools.js';

const home = (c: StackConfig) => join(c.cacheDir, `cassandra-${VERSIONS.cassandra}`);
const stateOf = (c: StackConfig, node: number) => nodeDir(c, 'cassandra', c.nodes, node);

/**
 * Node n's token: one token per node, evenly spread over the Murmur3 ring (0 for a single node), so a
 * fresh cluster needs no bootstrap streaming and every node owns a third of each keyspace's data.
 */
export function initialToken(nodes: number, node: number): string {
  if (nodes === 1) return '0';
  return String(-(2n ** 63n) + (BigInt(node - 1) * 2n ** 64n) / BigInt(nodes));
}

export function cassandraYaml(c: StackConfig, dataDir: string, node = 1): string {
  const host = cassandraHost(node);
  // Every node is a seed: a seed starts without asking another node, so any one can restart alone.
  const seeds = range(c.nodes).map((n) => `${cassandraHost(n)}:${c.cassandra.storagePort}`).join(',');
  return `# Written by \`adme stack up\` on every start; edit stack/cassandra.ts instead.
cluster_name: adme
num_tokens: 1
initial_token: ${initialToken(c.nodes, node)}
auto_bootstrap: false
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "${seeds}"
listen_address: ${host}
rpc_address: ${host}
storage_port: ${c.cassandra.storagePort}
native_transport_port: ${c.cassandra.port}
start_native_transport: true
commitlog_sync: periodic
commitlog_sync_period: 10000ms
data_file_directories:
  - ${join(dataDir, 'data')}
commitlog_directory: ${join(dataDir, 'commitlog')}
saved_caches_directory: ${join(dataDir, 'saved_caches')}
hints_directory: ${join(dataDir, 'hints')}
cdc_raw_directory: ${join(dataDir, 'cdc_raw')}
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
disk_failure_policy: stop
# A dev stack: a dropped keyspace's data goes with it (benchmarks drop theirs; the snapshots Cassandra
# keeps by default grew the state by a GiB a session).
auto_snapshot: false
commit_failure_policy: stop
# Small machine: keep memory use modest and leave LWTs at their defaults.
concurrent_reads: 16
concurrent_writes: 16
concurrent_counter_writes: 16
memtable_allocation_type: heap_buffers
key_cache_size: 16MiB
counter_cache_size: 0MiB
# The runtime writes a round's archive blocks and a checkpoint's parts as unlogged batches of up to
# 1 MiB (ADME_CASSANDRA_BATCH_KIB), the archive's spanning many partitions: cheaper here by far than
# many small requests (docs/BENCHMARKS.md, issue 11). Warn only past what it sends.
batch_size_warn_threshold: 2048KiB
batch_size_fail_threshold: 4096KiB
unlogged_batch_across_partitions_warn_threshold: 2000
`;
}

const LOGBACK = `<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="STDOUT" /></root>
  <logger name="org.apache.cassandra.service.CassandraDaemon" level="INFO" />
  <logger name="org.apache.cassandra.transport.Server" level="INFO" />
</configuration>
`;

// From Cassandra's jvm17-server.options: what the daemon needs to run on JDK 17.
const ADD_EXPORTS = ['java.base/jdk.internal.misc', 'java.management.rmi/com.sun.jmx.remote.internal.rmi', 'java.management/com.sun.jmx.remote.security',
  'java.rmi/sun.rmi.registry', 'java.rmi/sun.rmi.server', 'java.sql/java.sql', 'java.base/java.lang.ref', 'jdk.unsupported/sun.misc'];
const ADD_OPENS = ['java.base/java.lang.module', 'java.base/jdk.internal.loader', 'java.base/jdk.internal.ref', 'java.base/jdk.internal.reflect',
  'java.base/jdk.internal.math', 'java.base/jdk.internal.module', 'java.base/jdk.internal.util.jar', 'jdk.management/com.sun.management.internal',
  'java.base/sun.nio.ch', 'java.base/java.io', 'java.base/java.lang.reflect', 'java.base/java.lang', 'java.base/java.util', 'java.base/java.nio'];

export const cassandra: ServerDef = {
  name: 'cassandra',
  label: `Cassandra ${VERSIONS.cassandra}`,
  nodes: (c) => c.nodes,
  listen: (c, node) => `${cassandraHost(node)}:${c.cassandra.port}`,
  external: (c) => c.cassandra.external,
  address: (c) => c.cassandra.contactPoints.join(','),

  async provision(c, progress) {
    if (existsSync(join(home(c), '.complete'))) return;
    requireTool('mvn', 'install Maven (Debian: apt-get install maven); it resolves the Cassandra jars from Maven Central');
    progress(`cassandra: resolving Cassandra ${VERSIONS.cassandra} jars from Maven Central (first run only, ~1-2 min)`);
    try {
      await provisionOnce(home(c), (tmp) =>
        mavenCopyDependencies(join(c.projectDir, 'stack', 'cassandra', 'pom.xml'), { 'cassandra.version': VERSIONS.cassandra }, tmp, progress, 'cassandra: maven'),
      );
    } catch (err) {
      throw new ProvisionError('cassandra', 'resolving jars with Maven', (err as Error).message);
    }
    progress(`cassandra: jars cached in ${home(c)}`);
  },

  async prepare(c, node) {
    const java = findJava17(c.javaHome);
    const state = stateOf(c, node);
    const dataDir = join(state, 'data');
    const confDir = join(state, 'conf');
    const tmpDir = join(state, 'tmp'); // JNA unpacks a native library here: must be writable and executable
    for (const d of [dataDir, confDir, tmpDir]) mkdirSync(d, { recursive: true });
    writeFileSync(join(confDir, 'cassandra.yaml'), cassandraYaml(c, dataDir, node));
    writeFileSync(join(confDir, 'logback.xml'), LOGBACK);
    const lib = join(home(c), 'lib');
    const jamm = readdirSync(lib).find((f) => /^jamm-.*\.jar$/.test(f));
    if (!jamm) throw new ProvisionError('cassandra', 'locating the jamm agent jar', `no jamm-*.jar in ${lib}; delete ${home(c)} to re-resolve`);
    const args = [
      `-Xms${c.cassandra.heap}`, `-Xmx${c.cassandra.heap}`, '-Xss256k', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=300',
      '-XX:+HeapDumpOnOutOfMemoryError', `-XX:HeapDumpPath=${state}`,
      '-Djdk.attach.allowAttachSelf=true', '-Djava.net.preferIPv4Stack=true',
      ...ADD_EXPORTS.flatMap((m) => ['--add-exports', `${m}=ALL-UNNAMED`]),
      ...ADD_OPENS.flatMap((m) => ['--add-opens', `${m}=ALL-UNNAMED`]),
      `-javaagent:${join(lib, jamm)}`,
      `-Dcassandra.config=file://${join(confDir, 'cassandra.yaml')}`,
      '-Dcassandra-foreground=yes',
      `-Dcassandra.storagedir=${dataDir}`,
      `-Dcassandra.logdir=${join(state, 'logs')}`,
      `-Dlogback.configurationFile=${join(confDir, 'logback.xml')}`,
      '-Dcassandra.skip_wait_for_gossip_to_settle=0',
      '-Dcassandra.ring_delay_ms=0',
      '-Dchronicle.analytics.disable=true',
      `-Djava.io.tmpdir=${tmpDir}`,
      '-cp', `${confDir}:${join(lib, '*')}`,
      'org.apache.cassandra.service.CassandraDaemon',
    ];
    return { command: java, args };
  },

  async probe(c, node) {
    const contactPoints = node === 0 ? c.cassandra.contactPoints : [`${cassandraHost(node)}:${c.cassandra.port}`];
    const client = new cassandraDriver.Client({
      contactPoints,
      localDataCenter: c.cassandra.localDc,
      protocolOptions: { port: c.cassandra.port },
      socketOptions: { connectTimeout: 1000, readTimeout: 2000 },
      pooling: { warmup: false },
      // Ask this node, not whichever peer the driver would pick.
      ...(node === 0 ? {} : { policies: { loadBalancing: new cassandraDriver.policies.loadBalancing.AllowListPolicy(
        new cassandraDriver.policies.loadBalancing.RoundRobinPolicy(), contactPoints) } }),
    });
    try {
      await client.connect();
      const rs = await client.execute('SELECT release_version FROM system.local');
      if (rs.rowLength !== 1) return false;
      if (node === 0 || c.nodes === 1) return true;
      // In a cluster a node is ready once it knows every other node (gossip has reached it).
      const peers = await client.execute('SELECT peer FROM system.peers');
      return peers.rowLength === c.nodes - 1;
    } catch {
      return false;
    } finally {
      await client.shutdown().catch(() => undefined);
    }
  },
};
