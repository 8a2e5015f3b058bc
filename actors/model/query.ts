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
  /**
   * Unique users with at least one event of the requested types in the row's cell and range (reach:
   * exact up to 4096 users, then a HyperLogLog estimate, ≈ 1.5 % at p99; docs/api.md, "Reach").
   */
  readonly users: number;
}

/**
 * The privacy floor (`ADME_PRIVACY_K`, docs/api.md "Privacy floor"): rows whose unique users are below
 * `privacyK` are not answered at that precision (they still count in the totals of the areas they belong
 * to); `withheld` says how many were held back. `privacyK` 0: no floor.
 */
export interface PrivacyEcho {
  readonly privacyK: number;
  readonly withheld: number;
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
  readonly privacyK: number;
  readonly withheld: number;
}

/**
 * GET /v1/top?from=&to=&precision=&types=&limit=&bbox=&by= — the busiest cells, busiest first: by events
 * of the requested types (`by=events`, the default) or by their unique users (`by=users`: top by reach).
 */
export interface TopAnswer {
  readonly source?: AnswerSource;
  readonly from: number;
  readonly to: number;
  readonly precision: number;
  readonly types: readonly EventType[];
  readonly by: TopOrder;
  readonly rows: readonly CellRow[];
  readonly privacyK: number;
  readonly withheld: number;
}

export type TopOrder = 'events' | 'users';
export const TOP_ORDERS: readonly TopOrder[] = ['events', 'users'];

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
  /** Unique users with any event in the area and range (reach). */
  readonly users: number;
  /** Unique users per event type: who saw an impression, who clicked, installed, purchased, had a session. */
  readonly usersByType: TypeCounts;
  /** Impressions per unique user who saw one (null without impressions). */
  readonly frequency: number | null;
  readonly privacyK: number;
  /**
   * 1 when the area's own unique users are below `privacyK`: its counts, value, users and series are then
   * zeros and its rates null (the floor applies to an area as to a cell); 0 otherwise.
   */
  readonly withheld: number;
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
  /** Unique users in the current window. */
  readonly users: number;
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
  readonly privacyK: number;
  /** Hot cells held back by the privacy floor (fewer unique users now than `privacyK`). */
  readonly withheld: number;
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
  readonly privacyK: number;
  /** Apps and campaigns held back by the privacy floor. */
  readonly withheld: number;
}

export interface SegmentCount {
  readonly id: string;
  readonly events: number;
  /** Unique users of the app or campaign in the range (0 where the actors keep no reach per segment). */
  readonly users: number;
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
