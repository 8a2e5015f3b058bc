/**
 * The page's view state in the address bar: the app and campaign filter, as repeated `app=` and
 * `campaign=` parameters (filter.ts), so a link reproduces the view. Updated in place (replaceState):
 * changing a filter adds no history entry. The viewer key is taken out of the address by key.ts.
 */
import type { SegmentFilter } from '../../actors/model/segment.js';
import { filterFromSearch, searchWithFilter } from './filter.js';

export function filterFromAddress(): SegmentFilter {
  return filterFromSearch(location.search);
}

export function showFilterInAddress(f: SegmentFilter): void {
  const search = searchWithFilter(location.search, f);
  if (search !== location.search) history.replaceState(history.state, '', location.pathname + search + location.hash);
}
