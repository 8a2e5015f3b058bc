/**
 * The gateway's heap growing factor (docs/gateway.md, "Memory of the process"). What the live store holds
 * is bounded, but V8 lets the old generation grow to several times what survived the last full collection
 * before it runs the next one, and the garbage of decoded deltas and frames fills that room: the process
 * was 2.5–4× its live heap. A fixed factor (`--heap-growing-percent`) bounds it, but on a small heap it
 * is a disaster: with 25 MiB live and 30 % of room, an ingest-only gateway ran a full collection every
 * 60 ms and spent twice the CPU per event. So the room is a share of the live heap with an absolute
 * minimum, read after each full collection: at least `minRoomMb`, else `percent` of what is live.
 *
 * The flag is V8's, process-wide and read at each collection (set at run time with `setFlagsFromString`,
 * measured the same as on the command line). Every isolate of the process shares it, and the room is
 * computed from this thread's live heap; so the gateway applies it only with one thread (the default on
 * 2 cores), where this thread's heap is the process's.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';

export interface HeapGrowthOptions {
  /** Room over the live heap, percent; 0 leaves V8's own factor throughout. */
  readonly percent: number;
  /** Room at least this (MiB), however small the live heap. */
  readonly minRoomMb: number;
}

/** Largest percentage set (V8's own factor is at most 300 %). */
export const MAX_GROWING_PERCENT = 1000;

/** The percentage to set for a live heap of `liveBytes` (0: V8's own factor). */
export function growingPercentFor(liveBytes: number, o: HeapGrowthOptions): number {
  if (o.percent === 0) return 0;
  const forRoom = Math.ceil((o.minRoomMb * 2 ** 20 * 100) / Math.max(liveBytes, 1));
  return Math.min(MAX_GROWING_PERCENT, Math.max(o.percent, forRoom));
}

/** Watches this thread's full collections and sets the factor for the live heap each leaves; stop() undoes it. */
export function watchHeapGrowth(o: HeapGrowthOptions, log: (message: string) => void): { stop(): void } {
  if (o.percent === 0) return { stop: () => undefined };
  let current = 0;
  // Logged when the share of the live heap starts or stops deciding; below it the percentage follows each collection.
  const follow = () => {
    const percent = growingPercentFor(process.memoryUsage().heapUsed, o);
    if (percent === current) return;
    if (percent === o.percent || current === o.percent) log(`heap: full collections at ${percent} % over the live heap`);
    current = percent;
    setFlagsFromString(`--heap-growing-percent=${percent}`);
  };
  follow();
  const observer = new PerformanceObserver((list) => {
    if (list.getEntries().some((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) follow();
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop: () => {
      observer.disconnect();
      setFlagsFromString('--heap-growing-percent=0'); // V8's own factor again
    },
  };
}
