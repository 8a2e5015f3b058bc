/**
 * The live view of one gateway process: one delta consumer ({@link DeltaFeed}), one live store and its
 * viewers ({@link StreamHub}), the frame clock, and the query API that answers from the store when it
 * can. With several uWS threads it runs on the main thread and the threads reach it through messages
 * (remote.ts), so memory and decoding do not grow with threads.
 */
import { inBbox } from '../../actors/model/index.js';
import { CassandraArchiveStore, type ArchiveStore } from '../../runtime/index.js';
import type { GatewayConfig } from '../config.js';
import { QueryApi, type Answer } from '../query/api.js';
import type { StoredRow } from '../query/rollups.js';
import type { LiveAccess, LiveViewer } from './access.js';
import { DeltaFeed } from './feed.js';
import { StreamHub, type ViewerPort } from './hub.js';

export type LiveConfig = Pick<GatewayConfig, 'brokers' | 'kafkaClientId' | 'partitions' | 'stream' | 'mongoUrl' | 'mongoDb' | 'queryMaxRows' | 'queryCacheMs' | 'replication' | 'archive' | 'archiveCache' | 'privacyK'>;

/** Opens the archive on first use (a reader: the runtime creates its tables). */
function archiveOpener(a: LiveConfig['archive']): (() => Promise<ArchiveStore>) | undefined {
  if (!a) return undefined;
  return () => CassandraArchiveStore.open({ contactPoints: a.contactPoints, localDataCenter: a.localDc, keyspace: a.keyspace, ttlSeconds: 0, create: false });
}

export class LiveService implements LiveAccess {
  readonly hub: StreamHub;
  readonly queries: QueryApi;
  private readonly feed: DeltaFeed;
  private clock: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly cfg: LiveConfig, private readonly log: (message: string) => void) {
    const s = cfg.stream;
    this.queries = new QueryApi({
      mongoUrl: cfg.mongoUrl, database: cfg.mongoDb, windowMs: s.windowMs, maxRows: cfg.queryMaxRows, cacheMs: cfg.queryCacheMs, privacyK: cfg.privacyK,
      archive: archiveOpener(cfg.archive), archiveCache: cfg.archiveCache,
      // Ranges the live store holds completely (windows after the replay start, still in the horizon)
      // are answered from memory: the same numbers as the rollups, seconds fresher, no MongoDB read.
      live: {
        completeFrom: () => Math.max(this.feed.completeFrom + s.windowMs, this.hub.store.firstKept),
        rows: (from, to, box) => {
          const store = this.hub.store;
          const out: StoredRow[] = [];
          for (const { window, cell, base } of store.rows(from, to)) {
            if (box && !inBbox(box, base.lat, base.lon)) continue;
            // Segments (and users) are summed only for the answers that read them.
            out.push({
              window, partition: -1, cell, sum: base.sum,
              get segs() { return store.segmentSums(base); },
              get reach() { return store.reachOf(base); },
              get segReach() { return store.segmentReach(base); },
            });
          }
          return out;
        },
      },
    });
    this.hub = new StreamHub({ ...s, privacyK: cfg.privacyK }, (partition, why) => {
      if (why === 'gap') this.repair(partition); // an owner change re-sends its whole state itself
    });
    this.feed = new DeltaFeed({
      brokers: cfg.brokers, clientId: `${cfg.kafkaClientId}-view`, topic: s.deltasTopic, partitions: cfg.partitions, replication: cfg.replication,
      replayMs: s.horizonMs + s.windowMs, log,
      onDeltas: (ds) => {
        try {
          this.hub.applyDeltas(ds);
        } catch (err) {
          log(`live view: ${(err as Error).message}`);
        }
      },
    });
  }

  private repair(partition: number): void {
    this.log(`live view: delta gap on partition ${partition}; repairing it from the MongoDB rollups`);
    const st = this.hub.store;
    void this.queries.partitionRows(partition, st.firstKept, st.newest + this.cfg.stream.windowMs).then((rows) => {
      for (const r of rows) st.repair(partition, r.window, r.cell, r.sum, r.segs ?? null, r.reach, r.segReach);
      this.hub.resnapshotAll();
    }, (err: unknown) => this.log(`live view: repair of partition ${partition} failed: ${(err as Error).message}`));
  }

  /** Starts reading deltas (in the background, retrying until Kafka answers) and the frame clock. */
  start(): void {
    this.feed.start();
    // The frame clock keeps to multiples of minFrameMs: a tick delayed by a busy event loop does not push
    // the next ones back (setInterval would drift), and ticks that could not run at all are skipped.
    const period = this.cfg.stream.minFrameMs;
    const schedule = () => {
      this.clock = setTimeout(() => {
        if (this.closing) return;
        this.hub.tick(Date.now());
        schedule();
      }, period - (Date.now() % period));
    };
    schedule();
  }

  open(port: ViewerPort): LiveViewer {
    const v = this.hub.open(port);
    return { message: (bytes) => this.hub.message(v, bytes), close: () => this.hub.close(v) };
  }

  query(path: string, qs: string): Promise<Answer> {
    return this.queries.answer(path, qs);
  }

  ready(): boolean {
    return Number.isFinite(this.feed.completeFrom);
  }

  metrics(): Record<string, number> {
    const { hub } = this;
    const st = hub.store.stats;
    const frozen = hub.store.frozen;
    return {
      adme_stream_viewers: hub.viewerCount,
      adme_stream_ticks_total: hub.stats.ticks,
      adme_stream_news_ticks_total: hub.stats.newsTicks,
      adme_stream_frames_total: hub.stats.frames,
      adme_stream_frame_bytes_total: hub.stats.bytes,
      adme_stream_snapshots_total: hub.stats.snapshots,
      adme_stream_frame_encodings_total: hub.stats.encodings,
      adme_stream_busy_skips_total: hub.stats.skippedBusy,
      adme_stream_bad_messages_total: hub.stats.badMessages,
      adme_stream_deltas_total: st.deltas,
      adme_stream_delta_gaps_total: st.gaps,
      adme_stream_owner_changes_total: st.ownerChanges,
      adme_stream_zombie_deltas_total: st.zombie,
      adme_stream_stale_deltas_total: st.stale,
      adme_stream_live_rows: hub.store.size,
      adme_stream_live_frozen_rows: frozen.rows,
      adme_stream_live_frozen_bytes: frozen.bytes,
      adme_stream_segment_keys: hub.store.dictionarySize,
      adme_stream_segment_keys_dropped_total: st.keysDropped,
      adme_stream_segments_folded_total: st.folded,
      adme_stream_withheld_rows_total: hub.stats.withheldRows,
      adme_query_withheld_total: this.queries.stats.withheld,
      adme_stream_live_ready: this.ready() ? 1 : 0,
      adme_stream_frame_clocks: 1,
    };
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      clearTimeout(this.clock);
      await this.feed.stop();
      await this.queries.close();
    })());
  }
}
