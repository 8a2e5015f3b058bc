import { describe, expect, it } from 'vitest';
import { RuntimeError, retry } from '../../../runtime/index.js';

describe('retry', () => {
  it('retries retriable errors and stops at once on a non-retriable one', async () => {
    let calls = 0;
    const v = await retry(async () => {
      if (++calls < 3) throw new Error('transient');
      return 'ok';
    }, { attempts: 5, initialDelayMs: 1, maxDelayMs: 2 });
    expect([v, calls]).toEqual(['ok', 3]);
    let fenced = 0;
    await expect(retry(async () => {
      fenced++;
      throw new RuntimeError('X_FATAL', 'no', false);
    }, { attempts: 5, initialDelayMs: 1, maxDelayMs: 2 })).rejects.toThrow('no');
    expect(fenced).toBe(1);
  });
});
