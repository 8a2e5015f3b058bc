import type { Command } from './args.js';
import { printStatus, stackUp } from './stack-commands.js';

/** `adme start` (what `npm start` runs): the main job. For now: the stack, up, and its status. */
export const START_COMMAND: Command = {
  path: ['start'],
  summary: 'Run the main job: bring the local stack up and show its status.',
  run: async (ctx) => {
    const c = await stackUp(ctx);
    await printStatus(c, false);
    return 0;
  },
};
