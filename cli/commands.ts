import type { Command } from './args.js';
import { GATEWAY_COMMANDS } from './gateway-commands.js';
import { ARCHIVE_BENCH_COMMAND, CHECKPOINT_BENCH_COMMAND, REACH_BENCH_COMMAND, RUNTIME_BENCH_COMMAND, RUNTIME_COMMANDS } from './runtime-commands.js';
import { REPLAY_COMMAND } from './replay-command.js';
import { STACK_COMMANDS } from './stack-commands.js';
import { START_COMMAND } from './start-command.js';

/** Every `adme` command; the parser and `--help` are driven by this table. Each area adds its own list. */
export const COMMANDS: readonly Command[] = [START_COMMAND, ...STACK_COMMANDS, ...GATEWAY_COMMANDS, ...RUNTIME_COMMANDS, RUNTIME_BENCH_COMMAND, CHECKPOINT_BENCH_COMMAND, REACH_BENCH_COMMAND, ARCHIVE_BENCH_COMMAND, REPLAY_COMMAND];
