/** A test viewer of `WS /v1/stream`: applies snapshots and deltas like the page does, and keeps every frame. */
import WebSocket from 'ws';
import { decode, encode, type CellsFrame, type ClientMsg, type ServerFrame } from '../../actors/model/index.js';
import { waitFor } from './env.js';

export interface ViewerCell {
  readonly total: number;
  readonly counts: number[];
  readonly value: number;
  readonly lat: number;
  readonly lon: number;
}

export class TestViewer {
  readonly frames: ServerFrame[] = [];
  readonly cells = new Map<string, ViewerCell>();
  /** Frame seqs to drop on arrival, as if lost (the viewer then notices the gap and asks for a resync). */
  readonly drop = new Set<number>();
  /** Seq gaps noticed (lost frames), and resyncs asked for (a gap noticed on a delta). */
  gaps = 0;
  resyncs = 0;
  private lastSeq = 0;
  private constructor(private readonly ws: WebSocket, private readonly autoCredit: boolean) {}

  static async open(url: string, key: string, autoCredit = true): Promise<TestViewer> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/stream?key=${encodeURIComponent(key)}`);
    const v = new TestViewer(ws, autoCredit);
    ws.on('message', (data: Buffer) => v.onFrame(decode<ServerFrame>(data)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return v;
  }

  send(m: ClientMsg): void {
    this.ws.send(encode(m));
  }

  private onFrame(f: ServerFrame): void {
    if (f.type === 'error') {
      this.frames.push(f);
      return;
    }
    if (this.drop.delete(f.seq)) {
      if (this.autoCredit) this.send({ type: 'credit' }); // it arrived; its content is what got lost
      return;
    }
    this.frames.push(f);
    if (f.seq !== this.lastSeq + 1) this.gaps++;
    // A snapshot after a lost frame replaces everything: no resync needed.
    if (f.type === 'snapshot') this.cells.clear();
    else if (f.seq !== this.lastSeq + 1) {
      // A lost frame: ask for a snapshot and ignore deltas until it comes.
      this.resyncs++;
      this.lastSeq = f.seq;
      this.send({ type: 'resync' });
      if (this.autoCredit) this.send({ type: 'credit' });
      return;
    }
    this.lastSeq = f.seq;
    this.apply(f);
    if (this.autoCredit) this.send({ type: 'credit' });
  }

  private apply(f: CellsFrame): void {
    const n = f.counts.length / Math.max(1, f.cells.length);
    f.cells.forEach((cell, i) => {
      if (f.total[i] === 0) this.cells.delete(cell);
      else this.cells.set(cell, { total: f.total[i]!, counts: Array.from(f.counts.subarray(i * n, (i + 1) * n)), value: f.value[i]!, lat: f.lat[i]!, lon: f.lon[i]! });
    });
  }

  get total(): number {
    let t = 0;
    for (const c of this.cells.values()) t += c.total;
    return t;
  }

  cellFrames(): CellsFrame[] {
    return this.frames.filter((f): f is CellsFrame => f.type !== 'error');
  }

  async until(what: string, check: (v: TestViewer) => boolean, timeoutMs = 30_000): Promise<void> {
    await waitFor(what, () => check(this), timeoutMs, 50);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
