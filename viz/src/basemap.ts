/** The offline base map: country shapes from world-atlas (Natural Earth 1:50m), shipped with the page. */
import type { FeatureCollection, Geometry } from 'geojson';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import countriesUrl from 'world-atlas/countries-50m.json?url';

export type Countries = FeatureCollection<Geometry, { name?: string }>;

export async function loadCountries(): Promise<Countries> {
  const res = await fetch(countriesUrl);
  if (!res.ok) throw new Error(`base map ${countriesUrl}: HTTP ${res.status}`);
  const topo = (await res.json()) as Topology<{ countries: GeometryCollection<{ name?: string }> }>;
  return feature(topo, topo.objects.countries);
}
