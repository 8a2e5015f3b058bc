/** Rollup blocks as the shard stores them: their binary columns raw-deflated (RollupBlock.enc). */
import { deflateRawSync } from 'node:zlib';
import type { RollupBlock } from './model/index.js';

/** Plain columns → as stored. Readers inflate them with `plainBlock` (actors/model/aggregate.ts). */
export function storedColumns(c: { counts: Uint8Array; values: Uint8Array; users: Uint8Array; segs: Uint8Array }): Pick<RollupBlock, 'counts' | 'values' | 'users' | 'segs' | 'enc'> {
  // Level 1: blocks shrink ~5.6× (mostly zeros and small counts) for ~7 ms per 650 KB block on the
  // shard's thread; the document store, not the shard, was the bottleneck of every round that wrote
  // rollups (docs/runtime.md).
  const z = (b: Uint8Array) => new Uint8Array(deflateRawSync(b, { level: 1 }));
  return { counts: z(c.counts), values: z(c.values), users: z(c.users), segs: z(c.segs), enc: 'deflate-raw' };
}
