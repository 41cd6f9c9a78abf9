/**
 * The standalone session service as a library: what `latchkey serve` runs,
 * for embedding it in your own process or tests.
 *
 * @module
 */
export { createService, SERVICE_VERSION } from './service.js';
export type { Service, ServiceOptions } from './service.js';
export { loadConfig, CONFIG_OPTIONS, envName, flagName } from './config.js';
export type { ConfigSources, LogLevel, ServiceConfig } from './config.js';
// Store URLs live in latchkey/stores; re-exported here as before.
export { openStore, parseStoreUrl, redactStoreUrl } from '../stores/index.js';
export type { OpenStoreOptions, StoreLocation } from '../stores/index.js';
export { apiKeys, API_KEY_NAMESPACE } from '../core/api-keys.js';
export type { ApiKeyCheck, ApiKeyInfo, ApiKeys, ApiKeysOptions } from '../core/api-keys.js';
export type { AdminCredential, ServiceContext } from './context.js';
export { SERVICE_KINDS } from './context.js';
export type { SecurityEvent, SecurityEventKind, SecurityFeed } from './feed.js';
export type { KindCounts, Metrics, MetricsSnapshot } from './metrics.js';
export { openApiDocument } from './openapi.js';
