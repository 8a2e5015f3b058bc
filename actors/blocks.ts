/**
 * Bytes the shard stores, compressed: rollup block columns (RollupBlock.enc) and checkpoint window parts.
 * Raw deflate at level 1 on the shard's thread: the servers behind the sinks (FerretDB, Cassandra) and
 * the drivers on the main thread spend per byte, and on this box they share the cores with the shards
 * (docs/runtime.md, "Compressed blocks and parts").
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { RollupBlock } from './model/index.js';

const deflate = (b: Uint8Array) => new Uint8Array(deflateRawSync(b, { level: 1 }));

/** Plain columns → as stored. Readers inflate them with `plainBlock` (actors/model/aggregate.ts). */
export function storedColumns(c: { counts: Uint8Array; values: Uint8Array; users: Uint8Array; segs: Uint8Array; reach: Uint8Array }): Pick<RollupBlock, 'counts' | 'values' | 'users' | 'segs' | 'reach' | 'enc'> {
  // Blocks shrink ~5.6× (mostly zeros and small counts) for ~7 ms per 650 KB block.
  return { counts: deflate(c.counts), values: deflate(c.values), users: deflate(c.users), segs: deflate(c.segs), reach: deflate(c.reach), enc: 'deflate-raw' };
}

/**
 * First byte of a compressed checkpoint part, then the raw deflate of its msgpack. 0xc1 is the one byte
 * msgpack never uses, so a part written before compression (a msgpack map) is told apart by its first byte.
 */
export const DEFLATED_PART = 0xc1;

export function compressPart(msgpack: Uint8Array): Uint8Array {
  const z = deflateRawSync(msgpack, { level: 1 });
  const out = new Uint8Array(z.byteLength + 1);
  out[0] = DEFLATED_PART;
  out.set(z, 1);
  return out;
}

/** A stored part's msgpack, whether it was written compressed or not. */
export function partMsgpack(stored: Uint8Array): Uint8Array {
  return stored[0] === DEFLATED_PART ? new Uint8Array(inflateRawSync(stored.subarray(1))) : stored;
}
