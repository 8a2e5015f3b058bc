import { describe, expect, it } from 'vitest';
import { WsFlow } from '../../../gateway/ws-flow.js';

describe('WsFlow', () => {
  it('processes up to the window, holds up to one more window, then closes', () => {
    const f = new WsFlow<number>(2);
    expect([1, 2, 3, 4, 5].map((n) => f.offer(n))).toEqual(['process', 'process', 'held', 'held', 'close']);
    expect(f.processing).toBe(2);
    expect(f.holding).toBe(2);
  });

  it('resumes held frames in order as frames are answered', () => {
    const f = new WsFlow<number>(2);
    [1, 2, 3, 4].forEach((n) => f.offer(n));
    expect(f.done()).toEqual([3]);
    expect(f.done()).toEqual([4]);
    expect(f.done()).toEqual([]);
    expect(f.processing).toBe(1);
  });

  it('stops processing while blocked (acks unread) and resumes on unblock', () => {
    const f = new WsFlow<number>(4);
    expect(f.offer(1)).toBe('process');
    f.block();
    expect(f.offer(2)).toBe('held');
    expect(f.done()).toEqual([]);
    expect(f.unblock()).toEqual([2]);
    expect(f.offer(3)).toBe('process');
  });

  it('never lets a frame overtake held ones', () => {
    const f = new WsFlow<number>(1);
    f.offer(1);
    f.offer(2);
    expect(f.done()).toEqual([2]);
    expect(f.offer(3)).toBe('held');
  });
});
