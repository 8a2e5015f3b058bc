/** `window.__adme` (hooks.ts): the numbers the page shows, for the browser test. */
import type { AdmeHooks } from './hooks.js';

async function samplePng(base64: string, points: readonly (readonly [number, number])[]): Promise<[number, number, number, number][]> {
  const img = new Image();
  img.src = `data:image/png;base64,${base64}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2D canvas');
  ctx.drawImage(img, 0, 0);
  return points.map(([x, y]) => {
    const d = ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data;
    return [d[0]!, d[1]!, d[2]!, d[3]!];
  });
}

export const hooks: AdmeHooks = {
  frames: 0,
  mapVersion: 0,
  lastFrame: null,
  cells: 0,
  cellTotal: 0,
  connection: 'connecting',
  ready: false,
  renderedVersion: 0,
  renders: 0,
  mode: 'heatmap',
  replay: null,
  privacy: { privacyK: 0, withheld: 0, viewUsers: undefined },
  summaryShown: null,
  filter: { apps: [], campaigns: [] },
  subscribed: null,
  subscribes: 0,
  segments: null,
  drill: null,
  flyTo: () => {
    throw new Error('the map is not mounted yet');
  },
  showBaseMap: () => {
    throw new Error('the map is not mounted yet');
  },
  project: () => {
    throw new Error('the map is not mounted yet');
  },
  samplePng,
};

declare global {
  interface Window {
    __adme: AdmeHooks;
  }
}
window.__adme = hooks;
