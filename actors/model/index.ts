/** Shared contracts of AdME: pure, no I/O, importable from the gateway, the actors and the browser. */
export * from './event.js';
export * from './records.js';
export * from './aggregate.js';
export * from './codec.js';
export * from './validate.js';
export * from './ingest.js';
export * from './stream.js';
export * from './query.js';
export * from './geohash.js';
export * from './segment.js';
export * from './archive.js';
export * from './wire.js';
export * from './sketch.js';
export * from './reach.js';
