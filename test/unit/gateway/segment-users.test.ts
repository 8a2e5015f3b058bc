import { describe, expect, it } from 'vitest';
import { Reach, TINY_MAX } from '../../../actors/model/index.js';
import { SegmentUsers } from '../../../gateway/live/segment-users.js';

const reach = (...users: [slot: number, hash: number][]) => {
  const r = new Reach();
  for (const [slot, h] of users) r.add(slot, h);
  return r;
};
const usersOf = (s: SegmentUsers) => Object.fromEntries([...s.entries()].map(([id, r]) => [id, r.users()]));

describe('the users of an open cell\'s segments', () => {
  it('unions the users each delta brings, per segment, tiny ones in one array', () => {
    const s = new SegmentUsers();
    s.add(3, reach([0, 1], [0, 2]));
    s.add(7, reach([0, 1]));
    s.add(3, reach([0, 2], [1, 2], [0, 5])); // u2 again, u2 clicked, u5
    s.add(7, reach([0, 1])); // nothing new
    expect(usersOf(s)).toEqual({ 3: 3, 7: 1 });
    const [, three] = [...s.entries()].find(([id]) => id === 3)!;
    expect(three.users(1 << 1)).toBe(1); // slot 1: u2
    expect(three.pairs()).toHaveLength(4);
  });

  it('moves a segment past TINY_MAX pairs to a Reach of its own, keeping every user', () => {
    const s = new SegmentUsers();
    s.add(1, reach([0, 100]));
    s.add(2, reach([0, 1], [0, 2]));
    for (let u = 3; u <= TINY_MAX + 4; u++) s.add(2, reach([0, u]));
    s.add(4, reach([0, 9]));
    expect(usersOf(s)).toEqual({ 1: 1, 2: TINY_MAX + 4, 4: 1 });
    // A big reach merged in moves a tiny segment too.
    const big = new Reach();
    for (let u = 0; u < 50; u++) big.add(0, 1000 + u);
    s.add(1, big);
    expect(usersOf(s)).toEqual({ 1: 51, 2: TINY_MAX + 4, 4: 1 });
    s.add(1, reach([0, 100], [0, 5000]));
    expect(usersOf(s)[1]).toBe(52);
  });

  it('hands out tiny segments as copies: merging into them changes nothing held', () => {
    const s = new SegmentUsers();
    s.add(1, reach([0, 1]));
    for (const [, r] of s.entries()) r.merge(reach([0, 2], [0, 3]));
    expect(usersOf(s)).toEqual({ 1: 1 });
  });

  it('renumbers its segments, tiny and big alike', () => {
    const s = new SegmentUsers();
    s.add(3, reach([0, 1]));
    const big = new Reach();
    for (let u = 0; u < 20; u++) big.add(0, u);
    s.add(9, big);
    s.add(5, reach([0, 2], [0, 3]));
    expect([...s.ids()]).toEqual([3, 5, 9]);
    s.renumber((id) => ({ 3: 0, 5: 1, 9: 2 })[id]!);
    expect(usersOf(s)).toEqual({ 0: 1, 1: 2, 2: 20 });
    s.add(2, reach([0, 100]));
    expect(usersOf(s)[2]).toBe(21);
  });
});
