import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cassandra } from './cassandra.js';
import { SERVER_NAMES, nodeDir, nodesFile, range, type ServerName, type StackConfig } from './config.js';
import { ferretdb } from './ferretdb.js';
import { kafka } from './kafka.js';
import { diskUsage, isOurProcess, readPid, removePidFile, spawnDetached, stopProcess, tailFile } from './process.js';
import type { Progress, ServerDef } from './server.js';

export { loadStackConfig, ConfigError, SERVER_NAMES, VERSIONS, MAX_NODES, cassandraHost, range, type ServerName, type StackConfig } from './config.js';
export { kafkaPorts } from './kafka.js';
export { MissingToolError } from './tools.js';
export { ProvisionError } from './provision.js';
export { kafkaClasspath, kafkaHome } from './kafka.js';

export const SERVERS: Readonly<Record<ServerName, ServerDef>> = { kafka, cassandra, ferretdb };

/** A server did not become ready: names the server, the step, its log's tail and path. */
export class BootError extends Error {
  readonly code = 'STACK_BOOT_FAILED';
  constructor(readonly server: ServerName, readonly step: string, readonly logFile: string, logTail: string) {
    super(`${server}: ${step}\n--- last lines of ${logFile} ---\n${logTail || '(log is empty)'}\n---`);
    this.name = 'BootError';
  }
}

/** A whole server, or one node of it: `kafka`, `cassandra/2`. */
export type Target = ServerName | `${ServerName}/${number}`;

/** One node of one server. Node numbers start at 1. */
export interface NodeRef {
  readonly server: ServerName;
  readonly node: number;
}

/** `kafka/2` names node 2 in a cluster; a one-node server is named `kafka` (or `kafka/1`). */
export const nodeName = (c: StackConfig, r: NodeRef): string => (SERVERS[r.server].nodes(c) > 1 ? `${r.server}/${r.node}` : r.server);

/** Reads `server` or `server/n`; throws a ConfigError-like message naming what is wrong. */
export function parseTarget(c: StackConfig, spec: string): { server: ServerName; node: number | undefined } {
  const m = /^([a-z]+)(?:\/(\d+))?$/.exec(spec);
  const server = m?.[1] as ServerName | undefined;
  if (!m || !server || !SERVER_NAMES.includes(server)) throw new TargetError(`unknown server "${spec}": expected one of ${SERVER_NAMES.join(', ')}, optionally with /<node>`);
  if (m[2] === undefined) return { server, node: undefined };
  const node = Number(m[2]);
  const nodes = SERVERS[server].nodes(c);
  if (!Number.isInteger(node) || node < 1 || node > nodes) {
    throw new TargetError(`${server} has ${nodes} node${nodes === 1 ? '' : 's'} here (ADME_NODES=${c.nodes}${server === 'ferretdb' ? '; FerretDB is always one server' : ''}), so there is no ${spec}`);
  }
  return { server, node };
}

/** A server or node name that does not exist in this stack. */
export class TargetError extends Error {
  readonly code = 'STACK_BAD_TARGET';
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

function expand(c: StackConfig, targets: readonly Target[]): NodeRef[] {
  return targets.flatMap((t) => {
    const { server, node } = parseTarget(c, t);
    return node === undefined ? range(SERVERS[server].nodes(c)).map((n) => ({ server, node: n })) : [{ server, node }];
  });
}

const dirOf = (c: StackConfig, r: NodeRef) => nodeDir(c, r.server, SERVERS[r.server].nodes(c), r.node);
export const logFileOf = (c: StackConfig, r: NodeRef) => join(dirOf(c, r), 'logs', `${r.server}.out`);
const pidFileOf = (c: StackConfig, r: NodeRef) => join(dirOf(c, r), `${r.server}.pid`);
/**
 * Every server's command line contains its state folder: this tells our process from a reused pid. The
 * trailing slash keeps `kafka/` from matching `kafka-1/`.
 */
const markerOf = (c: StackConfig, r: NodeRef) => `${dirOf(c, r)}/`;

export type ServerState = 'running' | 'starting' | 'stopped' | 'external' | 'unreachable';

export interface ServerStatus {
  /** `kafka`, or `kafka/2` for node 2 of a cluster. */
  readonly name: string;
  readonly server: ServerName;
  /** 1-based; 0 for an external server (its nodes are not ours to list). */
  readonly node: number;
  readonly label: string;
  readonly state: ServerState;
  readonly pid: number | undefined;
  readonly port: number;
  readonly address: string;
  readonly dataBytes: number;
  readonly logFile: string;
}

function livePid(c: StackConfig, r: NodeRef): number | undefined {
  const pid = readPid(pidFileOf(c, r));
  return pid !== undefined && isOurProcess(pid, markerOf(c, r)) ? pid : undefined;
}

const portOf = (address: string) => Number(/:(\d+)\/?$/.exec(address)?.[1] ?? 0);

export async function status(c: StackConfig, names: readonly ServerName[] = SERVER_NAMES): Promise<ServerStatus[]> {
  const rows = await Promise.all(names.map(async (server): Promise<ServerStatus[]> => {
    const def = SERVERS[server];
    if (def.external(c)) {
      const address = def.address(c);
      return [{
        name: server, server, node: 0, label: def.label, state: (await def.probe(c, 0)) ? 'external' : 'unreachable', pid: undefined,
        port: portOf(def.address(c).split(',')[0] ?? ''), address, dataBytes: 0, logFile: '',
      }];
    }
    return Promise.all(range(def.nodes(c)).map(async (node): Promise<ServerStatus> => {
      const r = { server, node };
      const pid = livePid(c, r);
      const state: ServerState = pid === undefined ? 'stopped' : (await def.probe(c, node)) ? 'running' : 'starting';
      const address = def.listen(c, node);
      return {
        name: nodeName(c, r), server, node, label: def.label, state, pid, port: portOf(address), address,
        dataBytes: diskUsage(join(dirOf(c, r), 'data')), logFile: logFileOf(c, r),
      };
    }));
  }));
  return rows.flat();
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitReady(c: StackConfig, def: ServerDef, r: NodeRef | undefined, pid: number | undefined, progress: Progress): Promise<void> {
  const started = Date.now();
  const deadline = started + c.bootTimeoutS * 1000;
  let lastNote = started;
  const who = r ? nodeName(c, r) : def.name;
  const where = r ? def.listen(c, r.node) : def.address(c);
  const log = r ? logFileOf(c, r) : '';
  for (;;) {
    if (await def.probe(c, r?.node ?? 0)) {
      progress(`${who}: ready on ${where} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      return;
    }
    if (r && pid !== undefined && !isOurProcess(pid, markerOf(c, r))) {
      removePidFile(pidFileOf(c, r));
      throw new BootError(def.name, `${who}: the process exited while booting`, log, tailFile(log, 30));
    }
    if (Date.now() > deadline) {
      const what = pid === undefined ? `no answer from external server at ${where}` : `${who}: not ready after ${c.bootTimeoutS} s (ADME_BOOT_TIMEOUT)`;
      throw new BootError(def.name, what, log, pid === undefined ? '' : tailFile(log, 30));
    }
    if (Date.now() - lastNote > 10_000) {
      const cluster = r && def.nodes(c) > 1 ? ' and join its cluster' : '';
      progress(`${who}: waiting for ${def.label} to answer${cluster} (${Math.round((Date.now() - started) / 1000)} s)`);
      lastNote = Date.now();
    }
    await sleep(300);
  }
}

async function upNode(c: StackConfig, r: NodeRef, progress: Progress): Promise<void> {
  const def = SERVERS[r.server];
  const existing = livePid(c, r);
  if (existing !== undefined) {
    await waitReady(c, def, r, existing, progress);
    return;
  }
  const launch = await def.prepare(c, r.node, progress);
  progress(`${nodeName(c, r)}: starting ${def.label} on ${def.listen(c, r.node)}`);
  mkdirSync(join(dirOf(c, r), 'logs'), { recursive: true });
  const pid = spawnDetached({
    command: launch.command, args: launch.args, env: launch.env, cwd: dirOf(c, r),
    logFile: logFileOf(c, r), pidFile: pidFileOf(c, r),
  });
  await waitReady(c, def, r, pid, progress);
}

/**
 * Processes of `server` started from this state dir with another node count (a one-node stack when
 * ADME_NODES=3, or the reverse): they hold the same ports, so `up` refuses and `down` stops them too.
 */
function otherLayout(c: StackConfig, server: ServerName): { dir: string; pid: number }[] {
  if (!existsSync(c.stateDir)) return [];
  const mine = new Set(range(SERVERS[server].nodes(c)).map((node) => dirOf(c, { server, node })));
  const found: { dir: string; pid: number }[] = [];
  for (const entry of readdirSync(c.stateDir)) {
    if (entry !== server && !new RegExp(`^${server}-\\d+$`).test(entry)) continue;
    const dir = join(c.stateDir, entry);
    if (mine.has(dir)) continue;
    const pid = readPid(join(dir, `${server}.pid`));
    if (pid !== undefined && isOurProcess(pid, `${dir}/`)) found.push({ dir, pid });
  }
  return found;
}

async function upServer(c: StackConfig, server: ServerName, nodes: readonly number[], progress: Progress): Promise<void> {
  const def = SERVERS[server];
  if (def.external(c)) {
    progress(`${server}: using external server at ${def.address(c)} (nothing started)`);
    await waitReady(c, def, undefined, undefined, progress);
    return;
  }
  const others = otherLayout(c, server);
  if (others.length > 0) {
    throw new TargetError(`${server}: ${others.map((o) => `${o.dir} (pid ${o.pid})`).join(', ')} runs from this state dir with another node count `
      + `(ADME_NODES is ${c.nodes} now) and holds its ports: stop it first with adme stack down`);
  }
  await def.provision(c, progress);
  const results = await Promise.allSettled(nodes.map((node) => upNode(c, { server, node }, progress)));
  const failed = results.flatMap((x) => (x.status === 'rejected' ? [x.reason as Error] : []));
  if (failed.length > 0) throw failed.length === 1 ? failed[0]! : new AggregateError(failed, failed.map((f) => f.message).join('\n\n'));
}

function byServer(refs: readonly NodeRef[]): Map<ServerName, number[]> {
  const m = new Map<ServerName, number[]>();
  for (const r of refs) m.set(r.server, [...(m.get(r.server) ?? []), r.node]);
  return m;
}

/**
 * Provisions (first run) and starts every local server, or the named servers or nodes (`kafka/2`), in
 * parallel, and resolves once each answers its protocol (in a cluster: has joined it). Harmless when they
 * already run. Servers with an address variable set are only probed.
 */
export async function up(c: StackConfig, progress: Progress, targets: readonly Target[] = SERVER_NAMES): Promise<void> {
  mkdirSync(c.stateDir, { recursive: true });
  if (c.nodes > 1) writeFileSync(nodesFile(c.stateDir), `${c.nodes}\n`);
  const results = await Promise.allSettled([...byServer(expand(c, targets))].map(([server, nodes]) => upServer(c, server, nodes, progress)));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  const [first] = failures;
  if (failures.length === 1 && first) throw first;
  if (failures.length > 1) throw new AggregateError(failures, failures.map((f) => f.message).join('\n\n'));
}

/**
 * Stops the servers (or the named nodes) this state dir started: SIGTERM, then SIGKILL after
 * ADME_STOP_TIMEOUT. Stopping a whole server also stops its nodes of another node count, if any run.
 */
export async function down(c: StackConfig, progress: Progress, targets: readonly Target[] = SERVER_NAMES): Promise<void> {
  const refs = expand(c, targets);
  const whole = new Set(targets.filter((t): t is ServerName => !t.includes('/')));
  await Promise.all([
    ...refs.map(async (r) => {
      const name = nodeName(c, r);
      if (SERVERS[r.server].external(c)) {
        if (r.node === 1) progress(`${r.server}: external, left running`);
        return;
      }
      const pid = livePid(c, r);
      if (pid === undefined) {
        removePidFile(pidFileOf(c, r));
        progress(`${name}: not running`);
        return;
      }
      progress(`${name}: stopping (pid ${pid})`);
      const how = await stopProcess(pid, markerOf(c, r), c.stopTimeoutS);
      removePidFile(pidFileOf(c, r));
      progress(how === 'stopped' ? `${name}: stopped` : `${name}: killed after ${c.stopTimeoutS} s without exiting`);
    }),
    ...[...whole].flatMap((server) => otherLayout(c, server).map(async (o) => {
      progress(`${server}: stopping ${o.dir} (pid ${o.pid}, another node count)`);
      await stopProcess(o.pid, `${o.dir}/`, c.stopTimeoutS);
      removePidFile(join(o.dir, `${server}.pid`));
    })),
  ]);
  // Once nothing of a cluster runs, later commands default to one node again.
  if (SERVER_NAMES.every((server) => range(SERVERS[server].nodes(c)).every((node) => livePid(c, { server, node }) === undefined))) {
    rmSync(nodesFile(c.stateDir), { force: true });
  }
}

/** kill -9 of one node, for failure drills; resolves with its pid once it is gone (undefined: was not running). */
export async function kill(c: StackConfig, r: NodeRef): Promise<number | undefined> {
  if (SERVERS[r.server].external(c)) throw new TargetError(`${r.server} is external here: not ours to kill`);
  const pid = livePid(c, r);
  if (pid === undefined) return undefined;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone already */
  }
  while (isOurProcess(pid, markerOf(c, r))) await sleep(20);
  removePidFile(pidFileOf(c, r));
  return pid;
}

/** The pid of a node started by this state dir, when it runs. */
export const pidOf = (c: StackConfig, r: NodeRef): number | undefined => livePid(c, r);

export function logPath(c: StackConfig, r: NodeRef): string | undefined {
  const f = logFileOf(c, r);
  return existsSync(f) ? f : undefined;
}

export { tailFile };
