import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cassandra } from './cassandra.js';
import { SERVER_NAMES, type ServerName, type StackConfig } from './config.js';
import { ferretdb } from './ferretdb.js';
import { kafka } from './kafka.js';
import { diskUsage, isOurProcess, readPid, removePidFile, spawnDetached, stopProcess, tailFile } from './process.js';
import type { Progress, ServerDef } from './server.js';

export { loadStackConfig, ConfigError, SERVER_NAMES, VERSIONS, type ServerName, type StackConfig } from './config.js';
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

export const logFileOf = (c: StackConfig, name: ServerName) => join(c.stateDir, name, 'logs', `${name}.out`);
const pidFileOf = (c: StackConfig, name: ServerName) => join(c.stateDir, name, `${name}.pid`);
/** Every server's command line contains its state folder: this tells our process from a reused pid. */
const markerOf = (c: StackConfig, name: ServerName) => join(c.stateDir, name);

export type ServerState = 'running' | 'starting' | 'stopped' | 'external' | 'unreachable';

export interface ServerStatus {
  readonly name: ServerName;
  readonly label: string;
  readonly state: ServerState;
  readonly pid: number | undefined;
  readonly port: number;
  readonly address: string;
  readonly dataBytes: number;
  readonly logFile: string;
}

function livePid(c: StackConfig, name: ServerName): number | undefined {
  const pid = readPid(pidFileOf(c, name));
  return pid !== undefined && isOurProcess(pid, markerOf(c, name)) ? pid : undefined;
}

export async function status(c: StackConfig, names: readonly ServerName[] = SERVER_NAMES): Promise<ServerStatus[]> {
  return Promise.all(names.map(async (name) => {
    const def = SERVERS[name];
    const pid = def.external(c) ? undefined : livePid(c, name);
    let state: ServerState;
    if (def.external(c)) state = (await def.probe(c)) ? 'external' : 'unreachable';
    else if (pid === undefined) state = 'stopped';
    else state = (await def.probe(c)) ? 'running' : 'starting';
    return {
      name, label: def.label, state, pid, port: def.port(c), address: def.address(c),
      dataBytes: diskUsage(join(c.stateDir, name, 'data')), logFile: logFileOf(c, name),
    };
  }));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitReady(c: StackConfig, def: ServerDef, pid: number | undefined, progress: Progress): Promise<void> {
  const started = Date.now();
  const deadline = started + c.bootTimeoutS * 1000;
  let lastNote = started;
  for (;;) {
    if (await def.probe(c)) {
      progress(`${def.name}: ready on ${def.address(c)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      return;
    }
    if (pid !== undefined && !isOurProcess(pid, markerOf(c, def.name))) {
      removePidFile(pidFileOf(c, def.name));
      throw new BootError(def.name, 'the process exited while booting', logFileOf(c, def.name), tailFile(logFileOf(c, def.name), 30));
    }
    if (Date.now() > deadline) {
      const what = pid === undefined ? `no answer from external server at ${def.address(c)}` : `not ready after ${c.bootTimeoutS} s (ADME_BOOT_TIMEOUT)`;
      throw new BootError(def.name, what, logFileOf(c, def.name), pid === undefined ? '' : tailFile(logFileOf(c, def.name), 30));
    }
    if (Date.now() - lastNote > 10_000) {
      progress(`${def.name}: waiting for ${def.label} to answer (${Math.round((Date.now() - started) / 1000)} s)`);
      lastNote = Date.now();
    }
    await sleep(300);
  }
}

async function upOne(c: StackConfig, def: ServerDef, progress: Progress): Promise<void> {
  if (def.external(c)) {
    progress(`${def.name}: using external server at ${def.address(c)} (nothing started)`);
    await waitReady(c, def, undefined, progress);
    return;
  }
  const existing = livePid(c, def.name);
  if (existing !== undefined) {
    await waitReady(c, def, existing, progress);
    return;
  }
  await def.provision(c, progress);
  const launch = await def.prepare(c, progress);
  progress(`${def.name}: starting ${def.label} on 127.0.0.1:${def.port(c)}`);
  const pid = spawnDetached({
    command: launch.command, args: launch.args, env: launch.env, cwd: join(c.stateDir, def.name),
    logFile: logFileOf(c, def.name), pidFile: pidFileOf(c, def.name),
  });
  await waitReady(c, def, pid, progress);
}

/**
 * Provisions (first run) and starts every local server, in parallel, and resolves once each answers
 * its protocol. Harmless when they already run. Servers with an address variable set are only probed.
 */
export async function up(c: StackConfig, progress: Progress, names: readonly ServerName[] = SERVER_NAMES): Promise<void> {
  mkdirSync(c.stateDir, { recursive: true });
  for (const n of names) mkdirSync(join(c.stateDir, n, 'logs'), { recursive: true });
  const results = await Promise.allSettled(names.map((n) => upOne(c, SERVERS[n], progress)));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  const [first] = failures;
  if (failures.length === 1 && first) throw first;
  if (failures.length > 1) throw new AggregateError(failures, failures.map((f) => f.message).join('\n\n'));
}

/** Stops the servers this state dir started: SIGTERM, then SIGKILL after ADME_STOP_TIMEOUT. */
export async function down(c: StackConfig, progress: Progress, names: readonly ServerName[] = SERVER_NAMES): Promise<void> {
  await Promise.all(names.map(async (name) => {
    if (SERVERS[name].external(c)) {
      progress(`${name}: external, left running`);
      return;
    }
    const pid = livePid(c, name);
    if (pid === undefined) {
      removePidFile(pidFileOf(c, name));
      progress(`${name}: not running`);
      return;
    }
    progress(`${name}: stopping (pid ${pid})`);
    const how = await stopProcess(pid, markerOf(c, name), c.stopTimeoutS);
    removePidFile(pidFileOf(c, name));
    progress(how === 'stopped' ? `${name}: stopped` : `${name}: killed after ${c.stopTimeoutS} s without exiting`);
  }));
}

export function logPath(c: StackConfig, name: ServerName): string | undefined {
  const f = logFileOf(c, name);
  return existsSync(f) ? f : undefined;
}

export { tailFile };
