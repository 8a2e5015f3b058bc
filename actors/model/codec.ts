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
