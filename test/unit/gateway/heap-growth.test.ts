import { describe, expect, it } from 'vitest';
import { growingPercentFor } from '../../../gateway/heap-growth.js';

const MiB = 2 ** 20;

describe('the gateway heap growing factor', () => {
  it('leaves at least the minimum room over a small live heap and the share over a large one; 0 turns it off', () => {
    const o = { percent: 30, minRoomMb: 48 };
    // 48 MiB of room: 240 % over 20 MiB, 100 % over 48, 30 % from 160 MiB up (48 / 0.3).
    expect([20 * MiB, 48 * MiB, 100 * MiB, 160 * MiB, 400 * MiB].map((b) => growingPercentFor(b, o))).toEqual([240, 100, 48, 30, 30]);
    expect(growingPercentFor(1 * MiB, o)).toBe(1000);
    expect(growingPercentFor(0, o)).toBe(1000);
    expect(growingPercentFor(400 * MiB, { percent: 0, minRoomMb: 48 })).toBe(0);
  });
});
