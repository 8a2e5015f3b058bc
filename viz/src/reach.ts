/**
 * Reach on the page: unique users (mergeable sketches on the server, actors/model/query.ts), frequency
 * (impressions per user), the privacy floor's notes, and the "top by reach" request.
 * Pure: no DOM, unit tested in Node.
 */
import type { EventType } from '../../actors/model/event.js';
import type { TopOrder } from '../../actors/model/query.js';

/**
 * A user count the server really sent, or undefined. Frames from gateways older than reach have no
 * `users`, and an answer from one has none either: unknown must never read as "0 users".
 */
export function knownUsers(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** "1,234" users, or "–" when unknown. */
export function formatUsers(users: number | undefined): string {
  return users === undefined ? '–' : Math.round(users).toLocaleString('en-US');
}

/**
 * Impressions per user, or null without impressions or without a known, non-zero user count (a
 * frequency over an unknown reach would be a made-up number).
 */
export function frequencyOf(impressions: number, users: number | undefined): number | null {
  if (!(impressions > 0) || users === undefined || users <= 0) return null;
  return impressions / users;
}

/** "2.35" impressions per user, or "–" (null: no impressions, or reach unknown). */
export function formatFrequency(f: number | null | undefined): string {
  return f === null || f === undefined || !Number.isFinite(f) ? '–' : f.toFixed(2);
}

/** The privacy floor as the live view (or a replayed bucket) reports it. */
export interface ViewPrivacy {
  /** The floor in unique users; 0: none. */
  readonly privacyK: number;
  /** Cells of the view held back for being under it. */
  readonly withheld: number;
  /** Unique users of the whole view, small cells included (live frames only; undefined when not sent). */
  readonly viewUsers: number | undefined;
}

export const NO_PRIVACY: ViewPrivacy = { privacyK: 0, withheld: 0, viewUsers: undefined };

/**
 * The view's privacy after a frame. A snapshot states it afresh (a field it lacks is unknown / none);
 * a delta changes only the fields it carries: a heartbeat that omits them has not made the floor go away.
 * Unchanged, it is `prev` itself.
 */
export function privacyAfter(prev: ViewPrivacy, frame: { readonly type: 'snapshot' | 'delta'; readonly privacyK?: number; readonly withheld?: number; readonly viewUsers?: number }): ViewPrivacy {
  const base = frame.type === 'snapshot' ? NO_PRIVACY : prev;
  const k = knownUsers(frame.privacyK);
  const w = knownUsers(frame.withheld);
  const u = knownUsers(frame.viewUsers);
  const next = { privacyK: k ?? base.privacyK, withheld: w ?? base.withheld, viewUsers: u ?? base.viewUsers };
  // Unchanged → the same object: state holding it stays equal across heartbeats.
  return next.privacyK === prev.privacyK && next.withheld === prev.withheld && next.viewUsers === prev.viewUsers ? prev : next;
}

/** The floor an answer (rollups, top) reports; answers carry no reach of the whole view. */
export function answerPrivacy(a: { readonly privacyK?: number; readonly withheld?: number }): ViewPrivacy {
  return { privacyK: knownUsers(a.privacyK) ?? 0, withheld: knownUsers(a.withheld) ?? 0, viewUsers: undefined };
}

/** The legend's lines about the floor and the view's reach; empty when there is nothing to say. */
export function privacyLines(p: ViewPrivacy): string[] {
  const out: string[] = [];
  if (p.viewUsers !== undefined) out.push(`${formatUsers(p.viewUsers)} unique users in view`);
  if (p.privacyK > 0) {
    out.push(`cells with fewer than ${formatUsers(p.privacyK)} unique users are hidden`);
    if (p.withheld > 0) out.push(`${formatUsers(p.withheld)} ${p.withheld === 1 ? 'cell' : 'cells'} hidden in view`);
  }
  return out;
}

/** "3 small cells hidden" under a top list, or undefined when none were. */
export function withheldNote(withheld: number | undefined): string | undefined {
  const w = knownUsers(withheld);
  if (w === undefined || w <= 0) return undefined;
  return `${formatUsers(w)} small ${w === 1 ? 'cell' : 'cells'} hidden`;
}

/** The dashboard's note when the whole area is under the floor (its figures are zeros, not real ones). */
export function summaryWithheldNote(s: { readonly withheld?: number; readonly privacyK?: number }): string | undefined {
  if (s.withheld !== 1) return undefined;
  const k = knownUsers(s.privacyK);
  return k !== undefined && k > 0
    ? `Fewer than ${formatUsers(k)} unique users here: this area's figures are hidden.`
    : 'Too few unique users here: this area\'s figures are hidden.';
}

/** The dashboard's users per type: who did what (impressions are in the frequency, sessions left out). */
export const USERS_BY_TYPE: readonly { readonly type: EventType; readonly label: string }[] = [
  { type: 'click', label: 'clicked' },
  { type: 'install', label: 'installed' },
  { type: 'purchase', label: 'purchased' },
];

/** The top list's two orders, as its toggle names them. */
export const TOP_ORDER_LABEL: Readonly<Record<TopOrder, string>> = { events: 'by events', users: 'by reach' };

export interface TopQuery {
  readonly from: number;
  readonly to: number;
  readonly precision: number;
  readonly types: readonly EventType[] | undefined;
  readonly limit: number;
  readonly by: TopOrder;
}

/**
 * The `/v1/top` parameters (for api.ts `queryString`, filter parameters added by the caller). `by` is
 * sent only for reach: the events order is the server's default, and leaving it out keeps that request
 * exactly what it was before reach.
 */
export function topParams(q: TopQuery): { from: number; to: number; precision: number; types: readonly EventType[] | undefined; limit: number; by?: TopOrder } {
  return { from: q.from, to: q.to, precision: q.precision, types: q.types, limit: q.limit, ...(q.by === 'events' ? {} : { by: q.by }) };
}

export class OrderNotAppliedError extends Error {}

/**
 * Throws unless a top answer is in the order asked. A server without reach ignores `by=users` and
 * answers by events: that list must not be shown as the top by reach. An answer naming no order is
 * by events (the default).
 */
export function checkOrder(asked: TopOrder, answer: { readonly by?: unknown }): void {
  const by = answer.by ?? 'events';
  if (by === asked) return;
  throw new OrderNotAppliedError(`the server did not order the top cells ${TOP_ORDER_LABEL[asked]}: its answer is ordered by ${typeof by === 'string' ? by : JSON.stringify(by)}`);
}
