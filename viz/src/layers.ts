/** The deck.gl layers: base map, live heatmap and the geohash cell view, all on the one colour scale (scale.ts). */
import type { Layer, PickingInfo } from '@deck.gl/core';
import { HeatmapLayer } from '@deck.gl/aggregation-layers';
import { GeohashLayer } from '@deck.gl/geo-layers';
import { GeoJsonLayer } from '@deck.gl/layers';
import type { Countries } from './basemap.js';
import { CLASS_COLORS, HEAT_DOMAIN, colorOf } from './scale.js';
import type { Cell, CellColumns } from './state.js';

export type MapMode = 'heatmap' | 'cells';

const LAND: [number, number, number] = [24, 36, 52];
const BORDER: [number, number, number, number] = [84, 104, 130, 255];

export function baseMapLayer(countries: Countries): Layer {
  return new GeoJsonLayer({
    id: 'countries',
    data: countries,
    filled: true,
    stroked: true,
    getFillColor: LAND,
    getLineColor: BORDER,
    lineWidthUnits: 'pixels',
    getLineWidth: 1,
    // Shapes crossing the antimeridian (Russia, Fiji) would otherwise streak across the map.
    wrapLongitude: true,
    pickable: false,
  });
}

/**
 * The live heatmap: weight = the cell's class on the fixed log scale (heatWeight), MEAN aggregation so
 * a colour is a rate, not a count of overlapping cells: the legend holds at every zoom level.
 */
export function heatLayer(cols: CellColumns, version: number): Layer {
  return new HeatmapLayer({
    id: 'heat',
    data: {
      length: cols.length,
      attributes: {
        getPosition: { value: cols.positions, size: 2 },
        getWeight: { value: cols.weights, size: 1 },
      },
    },
    radiusPixels: 40,
    intensity: 1,
    aggregation: 'MEAN',
    colorDomain: HEAT_DOMAIN,
    colorRange: CLASS_COLORS.map((c) => [...c] as [number, number, number]),
    // SwiftShader and weak GPUs: the default 2048² weights texture makes every update take seconds.
    weightsTextureSize: 512,
    debounceTimeout: 100,
    updateTriggers: { getWeight: version, getPosition: version },
  });
}

export function cellLayer(cells: readonly Cell[], version: number, onHover: (info: PickingInfo<Cell>) => void, onClick: (info: PickingInfo<Cell>) => void): Layer {
  return new GeohashLayer<Cell>({
    id: 'cells',
    data: cells,
    getGeohash: (d) => d.cell,
    getFillColor: (d) => [...colorOf(d.rate), 210],
    filled: true,
    stroked: false,
    extruded: false,
    pickable: true,
    autoHighlight: true,
    highlightColor: [255, 255, 255, 90],
    onHover,
    onClick,
    updateTriggers: { getFillColor: version },
  });
}
