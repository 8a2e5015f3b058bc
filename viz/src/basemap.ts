/**
 * The offline base map: country shapes from world-atlas (Natural Earth), shipped with the page. The
 * 1:110m shapes serve the world and continent views; the 1:50m ones (7× the vertices: a redraw takes
 * seconds on a software renderer) are loaded once the map is zoomed in to country level.
 */
import type { FeatureCollection, Geometry } from 'geojson';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import coarseUrl from 'world-atlas/countries-110m.json?url';
import fineUrl from 'world-atlas/countries-50m.json?url';

export type Countries = FeatureCollection<Geometry, { name?: string }>;
export type Detail = 'coarse' | 'fine';

/** Zoom level from which the 1:50m shapes are drawn. */
export const FINE_FROM_ZOOM = 4;

export async function loadCountries(detail: Detail): Promise<Countries> {
  const url = detail === 'fine' ? fineUrl : coarseUrl;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`base map ${url}: HTTP ${res.status}`);
  const topo = (await res.json()) as Topology<{ countries: GeometryCollection<{ name?: string }> }>;
  return feature(topo, topo.objects.countries);
}
