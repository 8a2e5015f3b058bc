/** The msgpack codec every AdME record uses. `moreTypes` keeps typed arrays typed (and aligned) end to end. */
import { Packr, Unpackr } from 'msgpackr';

const packr = new Packr({ moreTypes: true, useRecords: false });
const unpackr = new Unpackr({ moreTypes: true, useRecords: false });

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decode<T>(bytes: Uint8Array): T {
  return unpackr.unpack(bytes) as T;
}

/**
 * `encode`, in an ArrayBuffer of its own: for bytes posted to another thread or kept. msgpackr returns a
 * view of its shared output buffer (4 MiB or more), and posting a view copies its whole buffer: a delta of
 * a few KiB sent from a shard's thread cost a copy of megabytes, and as many on the main thread's heap.
 */
export function encodeOwned(value: unknown): Uint8Array {
  return new Uint8Array(packr.pack(value));
}
