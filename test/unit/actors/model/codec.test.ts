import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { decode, encode, encodeOwned } from '../../../../actors/model/index.js';

/** What the other side of a MessageChannel receives for `bytes`. */
function posted(bytes: Uint8Array): Promise<Uint8Array> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port2.once('message', (m: Uint8Array) => {
      port1.close();
      resolve(m);
    });
    port1.postMessage(bytes);
  });
}

describe('encodeOwned: bytes that cross threads', () => {
  it('are in a buffer of their own, so posting them copies them and nothing else', async () => {
    encode({ big: new Uint8Array(1 << 20) }); // msgpackr's shared output buffer, grown
    const value = { v: 1, cells: 'u09tun,u09tup', counts: [3, 0, 1] };
    const shared = encode(value);
    const owned = encodeOwned(value);
    expect(owned).toEqual(new Uint8Array(shared));
    expect(owned.byteOffset).toBe(0);
    expect(owned.buffer.byteLength).toBe(owned.byteLength);
    // A view of msgpackr's buffer posts that whole buffer: the reason for encodeOwned.
    expect((await posted(shared)).buffer.byteLength).toBeGreaterThan(1 << 20);
    const got = await posted(owned);
    expect(got.buffer.byteLength).toBe(owned.byteLength);
    expect(decode(got)).toEqual(value);
  });
});
