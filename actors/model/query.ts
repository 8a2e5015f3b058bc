/**
 * JSON shapes of the HTTP query API over the MongoDB rollups (docs/api.md). Shared with the browser:
 * no Node imports here. Times are epoch ms; a cell is a geohash at the requested precision, `lat`/`lon`
 * its centre; `counts` maps every event type to its count.
 */
import type { TypeCounts } from './aggregate.js';
import type { EventType } from './event.js';

export interface CellRow {
  readonly cell: string;
  readonly lat: number;
  readonly lon: number;
  /** Events of the requested types. */
  readonly total: number;
  readonly counts: TypeCounts;
  /** Sum of event values (revenue). */
  readonly value: number;
}

/** GET /v1/rollups?bbox=w,s,e,n&from=&to=&precision=&types=&step= — one row per (bucket, cell). */
export interface RollupsAnswer {
  readonly source?: AnswerSource;
  readonly from: number;
  readonly to: number;
  readonly precision: number;
  /** Bucket length, ms (a multiple of the 10 s aggregation window). */
  readonly stepMs: number;
  readonly types: readonly EventType[];
  readonly rows: readonly (CellRow & { readonly window: number })[];
}

/** GET /v1/top?from=&to=&precision=&types=&limit=&bbox= — the busiest cells, busiest first. */
export interface TopAnswer {
  readonly source?: AnswerSource;
  readonly from: number;
  readonly to: number;
  readonly precision: number;
  readonly types: readonly EventType[];
  readonly rows: readonly CellRow[];
}

/** GET /v1/summary?from=&to=&bbox= — totals for the dashboard. */
export interface SummaryAnswer {
  readonly source?: AnswerSource;
  readonly from: number;
  readonly to: number;
  /** Events of all types in [from, to). */
  readonly events: number;
  /** events / seconds covered. */
  readonly eventsPerSecond: number;
  readonly counts: TypeCounts;
  readonly value: number;
  /** clicks / impressions (null without impressions). */
  readonly clickThroughRate: number | null;
  /** (installs + purchases) / clicks (null without clicks). */
  readonly conversionRate: number | null;
  /** Events per 10 s window, oldest first, for the sparkline: [window start, events]. */
  readonly series: readonly (readonly [number, number])[];
}

/** GET /v1/hotspots?precision=&windowS=&baselineS=&minEvents=&factor=&limit= — cells far above their own baseline. */
export interface HotspotRow {
  readonly cell: string;
  readonly lat: number;
  readonly lon: number;
  /** Events in the current window. */
  readonly current: number;
  /** Events/s now and over the trailing baseline before it. */
  readonly rate: number;
  readonly baselineRate: number;
  /** rate / baselineRate (Infinity-safe: a cell with no baseline gets rate / (1 / baselineS)). */
  readonly ratio: number;
}

export interface HotspotsAnswer {
  readonly source?: AnswerSource;
  readonly at: number;
  readonly windowS: number;
  readonly baselineS: number;
  readonly precision: number;
  readonly rows: readonly HotspotRow[];
}

/**
 * GET /v1/segments?from=&to=&bbox= — the apps and campaigns seen in [from, to), busiest first, with their
 * event counts: what the page offers in its app and campaign filters.
 */
export interface SegmentsAnswer {
  readonly source?: AnswerSource;
  readonly from: number;
  readonly to: number;
  readonly apps: readonly SegmentCount[];
  readonly campaigns: readonly SegmentCount[];
}

export interface SegmentCount {
  readonly id: string;
  readonly events: number;
}

/**
 * `/v1/rollups`, `/v1/top`, `/v1/summary` and `/v1/hotspots` take `app=` and `campaign=`, each repeatable
 * (`app=a&app=b`): only events of those apps / campaigns count. A filtered answer echoes them here.
 */
export interface FilterEcho {
  readonly apps?: readonly string[];
  readonly campaigns?: readonly string[];
}

/**
 * Every answer also says where its rows came from: `live` (the gateway's merged deltas, for ranges it holds
 * completely: the last ADME_LIVE_HORIZON_S) or `rollups` (MongoDB).
 */
export type AnswerSource = 'live' | 'rollups';

/** Every error answer of the query API. */
export interface QueryError {
  readonly code: 'QUERY_BAD_PARAM' | 'QUERY_TOO_LARGE' | 'QUERY_UNAVAILABLE' | 'GW_UNAUTHENTICATED' | 'GW_FORBIDDEN';
  readonly message: string;
  readonly retriable: boolean;
}
