/** Entry of every pool thread: loads the task's module once and runs the named function. */
import { toWireError } from '../core/errors.js';
import type { TaskRequest, TaskResponse } from './protocol.js';

type TaskFn = (payload: unknown) => unknown;
const modules = new Map<string, Promise<Record<string, unknown>>>();

export default async function runTask(req: TaskRequest): Promise<TaskResponse> {
  try {
    let mod = modules.get(req.module);
    if (!mod) {
      mod = import(req.module) as Promise<Record<string, unknown>>;
      modules.set(req.module, mod);
    }
    const fn = (await mod)[req.fn];
    if (typeof fn !== 'function') throw new TypeError(`task module ${req.module} exports no function "${req.fn}"`);
    return { type: 'ok', value: await (fn as TaskFn)(req.payload) };
  } catch (err) {
    return { type: 'error', error: toWireError(err) };
  }
}
