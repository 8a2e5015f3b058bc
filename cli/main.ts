import { UsageError, parseCommandLine } from './args.js';
import { COMMANDS } from './commands.js';
import { progress, projectDir } from './context.js';

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(argv, COMMANDS);
  if (parsed.kind === 'help') {
    console.log(parsed.text);
    return 0;
  }
  return parsed.command.run({ projectDir: projectDir(), values: parsed.values, positionals: parsed.positionals, progress });
}

/** Runs the CLI and sets the exit code; errors print their message (and the usage, for usage errors). */
export async function run(argv: readonly string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    const e = err as Error;
    console.error(`adme: ${e.message}`);
    if (process.env.ADME_DEBUG === '1' && e.stack) console.error(e.stack);
    if (e instanceof UsageError && e.usage) console.error(`\n${e.usage}`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}
