/** The runtime process's Prometheus metrics, fed by the shard actors. */
import { Registry, type Gauge } from '../runtime/index.js';
import type { ShardMetricEffect } from './shard-logic.js';

export class ShardMetrics {
  readonly registry = new Registry();
  private readonly events = this.registry.counter('adme_runtime_events_total', 'Events folded into the aggregation, by partition.');
  private readonly late = this.registry.counter('adme_runtime_late_events_total', 'Events behind the watermark, kept in the late_events collection.');
  private readonly duplicates = this.registry.counter('adme_runtime_duplicate_events_total', 'Events dropped as duplicates of a client id already counted.');
  private readonly otherSegment = this.registry.counter('adme_runtime_other_segment_events_total', 'Events counted in their cell\'s "other" segment: the cell and window already held ADME_MAX_SEGMENTS_PER_CELL segments.');
  private readonly invalid = this.registry.counter('adme_runtime_invalid_events_total', 'Records or events that could not be decoded or validated.');
  private readonly checkpoints = this.registry.counter('adme_runtime_checkpoints_total', 'Checkpoints written.');
  private readonly archiveEvents = this.registry.counter('adme_runtime_archived_events_total', 'Raw events written to the archive (events_archive), by partition; a round written again after a failure counts again.');
  private readonly archiveBlocks = this.registry.counter('adme_runtime_archive_blocks_total', 'Archive blocks written, by partition.');
  private readonly archiveBytes = this.registry.counter('adme_runtime_archive_bytes_total', 'Bytes of archive blocks written (compressed), by partition.');
  private readonly archiveSeconds = this.registry.histogram('adme_runtime_archive_write_seconds', 'Time to write one round\'s archive blocks to Cassandra.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
  private readonly checkpointFailures = this.registry.counter('adme_runtime_checkpoint_failures_total', 'Checkpoint or rollup writes that failed and will be retried.');
  private readonly checkpointBytes = this.registry.gauge('adme_runtime_checkpoint_bytes', 'Bytes the last checkpoint wrote to the store, by partition.');
  private readonly checkpointBytesTotal = this.registry.counter('adme_runtime_checkpoint_bytes_total', 'Bytes checkpoints wrote to the store, by partition.');
  private readonly checkpointSeconds = this.registry.histogram('adme_runtime_checkpoint_duration_seconds', 'Time to write a checkpoint to Cassandra.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
  private readonly encodeSeconds = this.registry.histogram('adme_runtime_checkpoint_encode_seconds', 'Time to snapshot and encode state on the actor thread.', [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1]);
  private readonly rollupSeconds = this.registry.histogram('adme_runtime_rollup_write_seconds', 'Time to write one round\'s rollup documents (and late and invalid events) to MongoDB.', [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  private readonly rollupDocs = this.registry.counter('adme_runtime_rollup_docs_total', 'Rollup documents written (kind=final|final_existing|open).');
  private readonly rejected = this.registry.counter('adme_runtime_rejected_zombie_writes_total', 'Writes refused because a newer owner holds the partition (kind=checkpoint|rollup).');
  private readonly deltaCount = this.registry.counter('adme_runtime_deltas_total', 'Delta records sent.');
  private readonly deltaAge = this.registry.histogram('adme_runtime_delta_age_seconds', 'Gateway receive time of the oldest event in a delta to the delta being in Kafka.', [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  private readonly deltaWait = this.registry.histogram('adme_runtime_delta_wait_seconds', 'A delta taken on its shard\'s thread to its send starting on the main thread (the hop and the main thread\'s queue).', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]);
  private readonly deltaSend = this.registry.histogram('adme_runtime_delta_send_seconds', 'A delta send to its acknowledgement by Kafka.', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]);
  private readonly foldAge = this.registry.histogram('adme_runtime_fold_age_seconds', 'Gateway receive time of the oldest event in a batch to the batch being folded into the state.', [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  private readonly gaps = this.registry.counter('adme_runtime_offset_gaps_total', 'Offsets missing from the log when resuming (retention ran ahead of checkpoints).');
  private readonly epochs: Gauge = this.registry.gauge('adme_runtime_partition_epoch', 'Ownership epoch held, by partition.');
  private readonly stalls: Gauge = this.registry.gauge('adme_runtime_partition_stalled', '1 while a partition waits for a checkpoint before taking more events.');

  /** Gauges computed at scrape time (owned partitions, lag, mailbox depth) are added by the process. */
  gauge(name: string, help: string, collect: (g: Gauge) => void): void {
    this.registry.gauge(name, help, collect);
  }

  /** Applies a metric effect of a partition's shard. */
  apply(partition: number, e: ShardMetricEffect): void {
    switch (e.type) {
      case 'm.batch':
        if (e.foldAgeMs !== null) this.foldAge.observe(e.foldAgeMs / 1000);
        this.events.inc({ partition }, e.events);
        if (e.late) this.late.inc({ partition }, e.late);
        if (e.invalid) this.invalid.inc({ partition }, e.invalid);
        if (e.duplicates) this.duplicates.inc({ partition }, e.duplicates);
        if (e.otherSegment) this.otherSegment.inc({ partition }, e.otherSegment);
        return;
      case 'm.checkpoint':
        this.checkpoints.inc({ partition });
        this.checkpointBytes.set({ partition }, e.bytes);
        this.checkpointBytesTotal.inc({ partition }, e.bytes);
        this.checkpointSeconds.observe(e.ms / 1000);
        this.encodeSeconds.observe(e.encodeMs / 1000);
        return;
      case 'm.archive':
        this.archiveEvents.inc({ partition }, e.events);
        this.archiveBlocks.inc({ partition }, e.blocks);
        this.archiveBytes.inc({ partition }, e.bytes);
        this.archiveSeconds.observe(e.ms / 1000);
        return;
      case 'm.checkpointFailure':
        this.checkpointFailures.inc({ partition });
        return;
      case 'm.rollups':
        if (e.finals) this.rollupDocs.inc({ partition, kind: 'final' }, e.finals);
        if (e.existing) this.rollupDocs.inc({ partition, kind: 'final_existing' }, e.existing);
        if (e.open) this.rollupDocs.inc({ partition, kind: 'open' }, e.open);
        if (e.stale) this.rejected.inc({ partition, kind: 'rollup' }, e.stale);
        this.rollupSeconds.observe(e.ms / 1000);
        return;
      case 'm.deltas':
        for (const a of e.agesMs) {
          this.deltaCount.inc();
          this.deltaAge.observe(a / 1000);
        }
        this.deltaWait.observe(e.waitMs / 1000);
        this.deltaSend.observe(e.sendMs / 1000);
        return;
      case 'm.gap':
        this.gaps.inc({ partition }, e.records);
        return;
      case 'm.epoch':
        this.epochs.set({ partition }, e.epoch);
        return;
      case 'm.stalled':
        this.stalls.set({ partition }, e.on ? 1 : 0);
        return;
      case 'm.cells':
        this.cells.set(partition, e.cells);
        return;
      case 'm.fenced':
        this.rejected.inc({ partition, kind: 'checkpoint' });
        return;
    }
  }

  /** Cell-windows held, by partition, as last reported by each shard. */
  readonly cells = new Map<number, number>();
}
