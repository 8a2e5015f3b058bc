/**
 * What the page exposes on `window.__adme` for the browser test (test/browser/live-map.test.ts): exactly
 * what is displayed, and helpers to find and sample screen positions. Types only, no DOM: the test
 * (compiled without DOM types) imports them.
 */
import type { SubscribeMsg } from '../../actors/model/stream.js';
import type { ConnState } from './protocol.js';
import type { ViewPrivacy } from './reach.js';

export interface FrameSummary {
  readonly type: 'snapshot' | 'delta';
  readonly seq: number;
  readonly sub: number;
  readonly rows: number;
  readonly at: number;
  readonly dataAt: number;
  readonly windowS: number;
  readonly precision: number;
}

/** The dashboard numbers as displayed, and the query that produced them. */
export interface SummaryShown {
  readonly query: string;
  readonly from: number;
  readonly to: number;
  readonly events: number;
  readonly eventsPerSecond: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly clickThroughRate: number | null;
  readonly conversionRate: number | null;
  /** Unique users and impressions per user; undefined from a server without reach. */
  readonly users: number | undefined;
  readonly frequency: number | null;
  /** 1 when the area is under the privacy floor (its figures are hidden), else 0. */
  readonly withheld: number;
}

/** The app and campaign filter the page applies (empty list = any). */
export interface FilterShown {
  readonly apps: readonly string[];
  readonly campaigns: readonly string[];
}

/** The filter choices as last loaded from /v1/segments, busiest first. */
export interface SegmentsShown {
  readonly query: string;
  readonly apps: readonly string[];
  readonly campaigns: readonly string[];
}

/** The drill-down panel's events as listed: its first page's query, drill.ts `drillStatus`, cursor of the next page. */
export interface DrillShown {
  readonly query: string;
  readonly status: 'loading' | 'loading-older' | 'empty' | 'events' | 'error' | 'unavailable';
  readonly events: number;
  readonly next: string | null;
}

export interface AdmeHooks {
  /** Live frames applied to the cell map (heartbeats included). */
  frames: number;
  /** Counts the frames that changed the map (snapshots and non-empty deltas). */
  mapVersion: number;
  lastFrame: FrameSummary | null;
  /** Cells in the live map now, and the sum of their totals. */
  cells: number;
  cellTotal: number;
  connection: ConnState;
  /** The base map is loaded, a live frame has been applied and drawn. */
  ready: boolean;
  /** `mapVersion` on screen: as of deck's last onAfterRender, reported two animation frames later. */
  renderedVersion: number;
  /** Drawn renders so far (each after onAfterRender + two animation frames). */
  renders: number;
  mode: 'heatmap' | 'cells';
  /** The time-travel bucket on the map (start, cells, sum of totals, its answer's privacy floor), null when live. */
  replay: { at: number; cells: number; total: number; privacy: ViewPrivacy } | null;
  /** The live view's privacy floor, hidden cells and unique users, as the legend shows them. */
  privacy: ViewPrivacy;
  summaryShown: SummaryShown | null;
  /** The filter of the map, dashboard and time travel, as selected (and in the address bar). */
  filter: FilterShown;
  /** The last `subscribe` sent on the stream (null before the first), and how many were sent. */
  subscribed: SubscribeMsg | null;
  subscribes: number;
  segments: SegmentsShown | null;
  /** The drill-down panel of a clicked cell, null when closed (or the cell is too coarse to list). */
  drill: DrillShown | null;
  /** Page CSS pixel of a longitude/latitude in the current map view. */
  project(lon: number, lat: number): [number, number];
  /** Moves the map (no transition): a test's way to a zoom level. */
  flyTo(lon: number, lat: number, zoom: number): void;
  /** Shows or hides the country shapes: zoomed in, a software renderer takes seconds to draw them. */
  showBaseMap(on: boolean): void;
  /** Decodes a PNG (base64, e.g. a page screenshot) and returns RGBA at page pixels. */
  samplePng(base64: string, points: readonly (readonly [number, number])[]): Promise<[number, number, number, number][]>;
}
