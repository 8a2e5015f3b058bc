/** Functions the worker pool runs for shard actors (loaded by file URL on pool threads). */
import { preaggregate, type PartialBatch, type PreaggregateInput } from './preaggregate.js';

export function preaggregateTask(input: PreaggregateInput): PartialBatch {
  return preaggregate(input);
}
