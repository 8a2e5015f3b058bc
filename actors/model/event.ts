/**
 * Event model v1: what producers send and what the aggregation counts. Shared by the gateway, the
 * actors and the browser; see docs/events.md for the rules and limits.
 */

export const EVENT_TYPES = ['impression', 'click', 'install', 'purchase', 'session_start', 'custom'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * How many event types there are: the columns of every per-type counts array (deltas, frames, rollups,
 * checkpoints). Defined once, here; everything else imports it.
 */
export const NTYPES = EVENT_TYPES.length;

/** Index of each type in per-type count arrays (rollups, deltas): stable, append-only. */
export const TYPE_INDEX: Readonly<Record<EventType, number>> = {
  impression: 0, click: 1, install: 2, purchase: 3, session_start: 4, custom: 5,
};

export type PropValue = string | number | boolean;

export interface AdEvent {
  /** Who did it; keeps a user's events in order on one Kafka partition. */
  readonly userId: string;
  readonly type: EventType;
  /** Required for `custom`, absent otherwise. */
  readonly name?: string;
  /** Event time, epoch milliseconds. */
  readonly ts: number;
  readonly lat: number;
  readonly lon: number;
  /** Client event id: events with the same id on one partition are counted once. */
  readonly id?: string;
  readonly appId?: string;
  readonly campaignId?: string;
  /** E.g. revenue of a purchase. */
  readonly value?: number;
  /** Small flat map of extra attributes. */
  readonly props?: Readonly<Record<string, PropValue>>;
}
