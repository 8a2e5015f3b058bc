/**
 * `adme bench live-store`: what the gateway's live store holds and costs for real deltas. It reads a
 * deltas topic that a run of the pipeline left in Kafka (by default the newest `adme bench stream` one),
 * replays it into a fresh store with the gateway's settings (ADME_LIVE_HORIZON_S, ADME_LIVE_FREEZE_S,
 * ADME_MAX_SEGMENTS_PER_CELL and their defaults) while three
 * views are held (the page's 60 s world view, a 900 s view, a 300 s view filtered by app), and reports the
 * time per row applied and the memory the store holds: V8 heap and array buffers after a full collection,
 * with the store and without it. Deterministic for a given topic: the A/B of two builds on one topic is the
 * figure to read.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { Kafka, logLevel } from 'kafkajs';
import { decode, type DeltaRecord } from '../actors/model/index.js';
import { loadGatewayConfig } from '../gateway/config.js';
import { LiveStore } from '../gateway/live/store.js';

export interface LiveStoreBenchOptions {
  readonly brokers: readonly string[];
  /** The deltas topic; undefined: the newest `bench_stream_*.deltas`. */
  readonly topic?: string;
  readonly progress: (message: string) => void;
}

export interface LiveStoreBenchResult {
  readonly topic: string;
  readonly deltas: number;
  readonly rowsApplied: number;
  readonly applyMs: number;
  readonly rowsHeld: number;
  readonly frozenRows: number;
  readonly frozenBytes: number;
  readonly heapBytes: number;
  readonly arrayBufferBytes: number;
  /** Rebuilding the held views' users from the store, as when a window leaves them. */
  readonly viewUsersMs: number;
}

/** A full collection (the flag turned on at run time: the bench need not be started with --expose-gc). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
  };
}

async function readTopic(o: LiveStoreBenchOptions): Promise<{ topic: string; values: Buffer[] }> {
  const kafka = new Kafka({ clientId: 'adme-bench-live-store', brokers: [...o.brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  let topic = o.topic;
  let total = 0;
  try {
    topic ??= (await admin.listTopics()).filter((t) => /^bench_stream_[a-z0-9]+\.deltas$/.test(t)).sort().pop();
    if (!topic) throw new Error('no deltas topic of `adme bench stream` in Kafka: run it first, or name one with --topic');
    for (const p of await admin.fetchTopicOffsets(topic)) total += Number(p.high) - Number(p.low);
  } finally {
    await admin.disconnect();
  }
  if (total === 0) throw new Error(`topic ${topic} holds no deltas`);
  o.progress(`live-store bench: reading ${total} deltas of ${topic}`);
  const values: Buffer[] = [];
  const consumer = kafka.consumer({ groupId: `adme-bench-live-store-${Date.now().toString(36)}`, maxBytes: 50 << 20 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) if (m.value) values.push(m.value);
          if (values.length >= total) resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return { topic, values };
}

export async function runLiveStoreBench(o: LiveStoreBenchOptions): Promise<LiveStoreBenchResult> {
  const gc = collector();
  const { topic, values } = await readTopic(o);
  // In emit order, as the gateway's feed applies them (each partition's in order; partitions interleaved).
  let deltas: DeltaRecord[] | null = values.map((v) => decode<DeltaRecord>(v)).sort((a, b) => a.at - b.at);
  values.length = 0;
  const rowsApplied = deltas.reduce((n, d) => n + d.cells.length, 0);
  const count = deltas.length;
  const s = loadGatewayConfig({ brokers: [...o.brokers], stateDir: '.' }, process.env).stream; // ADME_LIVE_* apply
  let store: LiveStore | null = new LiveStore({ windowMs: s.windowMs, horizonMs: s.horizonMs, maxSegmentsPerCell: s.maxSegmentsPerCell, freezeMs: s.freezeMs });
  const views = [store.acquire(60, 3), store.acquire(900, 4), store.acquire(300, 5, { apps: ['app-shop'], campaigns: [] })];
  o.progress(`live-store bench: applying ${rowsApplied} rows`);
  const t0 = performance.now();
  for (const d of deltas) {
    store.apply(d);
    for (const v of views) v.trim(v.logEnd); // as viewers that read every change
  }
  const applyMs = performance.now() - t0;
  deltas = null;
  const t1 = performance.now();
  for (const v of views) {
    v.reachStale = true;
    store.viewReach(v);
  }
  const viewUsersMs = performance.now() - t1;
  gc();
  const held = process.memoryUsage();
  const { rows: frozenRows, bytes: frozenBytes } = store.frozen;
  const rowsHeld = store.size;
  store = null;
  views.length = 0;
  gc();
  const after = process.memoryUsage();
  return {
    topic, deltas: count, rowsApplied, applyMs, rowsHeld, frozenRows, frozenBytes, viewUsersMs,
    heapBytes: held.heapUsed - after.heapUsed, arrayBufferBytes: held.arrayBuffers - after.arrayBuffers,
  };
}

export function liveStoreBenchMarkdown(r: LiveStoreBenchResult): string {
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  return [
    `Deltas of \`${r.topic}\`: ${r.deltas} deltas, ${r.rowsApplied} rows, replayed with the gateway's defaults and three views held.`,
    '',
    '| applied, µs per row | rows held | of them frozen (packed bytes) | store: V8 heap + array buffers | per row held | views\' users rebuilt |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${((r.applyMs * 1000) / r.rowsApplied).toFixed(2)} | ${r.rowsHeld} | ${r.frozenRows} (${mib(r.frozenBytes)} MiB) | ${mib(r.heapBytes)} + ${mib(r.arrayBufferBytes)} = ${mib(r.heapBytes + r.arrayBufferBytes)} MiB | ${((r.heapBytes + r.arrayBufferBytes) / r.rowsHeld).toFixed(0)} B | ${r.viewUsersMs.toFixed(0)} ms |`,
  ].join('\n');
}
