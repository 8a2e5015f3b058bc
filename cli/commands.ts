import { SERVER_NAMES } from '../stack/config.js';
import type { CommandSpec } from './args.js';

const servers = [...SERVER_NAMES];

/** Every `adme` command; the parser and `--help` are driven by this table. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    path: ['start'],
    summary: 'Run the main job: bring the local stack up and show its status.',
  },
  {
    path: ['stack', 'up'],
    summary: 'Provision (first run: minutes) and start Kafka, Cassandra and FerretDB on 127.0.0.1; waits until each answers.',
    args: [{ name: 'server', optional: true, choices: servers }],
  },
  {
    path: ['stack', 'down'],
    summary: 'Stop the local servers (SIGTERM, then SIGKILL after ADME_STOP_TIMEOUT seconds). Data is kept.',
    args: [{ name: 'server', optional: true, choices: servers }],
  },
  {
    path: ['stack', 'status'],
    summary: "Show each server's state, pid, port and data size.",
    options: { json: { type: 'boolean' } },
    optionHelp: [['--json', 'print machine-readable JSON']],
  },
  {
    path: ['stack', 'logs'],
    summary: "Print the end of a server's log (all servers when none is named).",
    args: [{ name: 'server', optional: true, choices: servers }],
    options: { lines: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' } },
    optionHelp: [['-n, --lines <n>', 'lines to show (default 40)'], ['-f, --follow', 'keep printing new lines until Ctrl-C (one server)']],
  },
];
