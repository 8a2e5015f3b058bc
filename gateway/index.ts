/**
 * The ingestion gateway (docs/gateway.md): uWebSockets.js over HTTP and WebSocket into Kafka.
 *
 * - {@link startGateway} runs one app with its own Kafka producer; {@link runGateway} runs one per
 *   worker thread when configured.
 * - {@link loadGatewayConfig} reads every setting from env vars and flags.
 * - Keys: {@link createKey}, {@link revokeKey}, {@link readKeyFile}, {@link KeyStore}.
 */
export { defaultGatewayThreads, loadGatewayConfig, type GatewayConfig, type GatewayBase } from './config.js';
export { GatewayError, GatewayConfigError, KafkaUnavailableError, type GatewayErrorCode } from './errors.js';
export { startGateway, type RunningGateway } from './server.js';
export { createKey, revokeKey, readKeyFile, parseScopes, KeyStore, KeyStoreError, SCOPES, type KeyRecord, type Scope } from './keys.js';
export { encodeMsgpack, decodeMsgpack } from './ingest.js';
