/**
 * latchkey: session management for TypeScript. This entry point holds the
 * engine; stores live in `latchkey/stores/*`.
 *
 * @module
 */
export { createSessions } from './core/sessions.js';
export type {
  CreateInput,
  InvalidReason,
  ListOptions,
  PatchResult,
  RevokeUserOptions,
  RotateOptions,
  RotateResult,
  Sessions,
  SessionsOptions,
  ValidateOptions,
  ValidateResult,
} from './core/sessions.js';
export type { ClientInfo, ClientRecord, Device, DeviceSession, RecordStatus, Session, SessionData, SessionRecord } from './core/model.js';
export type {
  DataPatch,
  Invalidation,
  InvalidationListener,
  KeyValues,
  SetMode,
  Store,
  StoreCapabilities,
  StoredEntry,
  StoredValue,
  StorePatchResult,
  Tombstone,
} from './core/store.js';
export type { AnomalyEvent, InvalidTokenEvent, Listener, SessionEvents } from './core/events.js';
export {
  ClosedError,
  ConfigError,
  ConfigWarning,
  InvalidDataError,
  LatchkeyError,
  LatchkeyTypeError,
  SessionLimitError,
  StoreUnavailableError,
} from './core/errors.js';
export type { LatchkeyErrorCode } from './core/errors.js';
export type { AnyLatchkeyError } from './errors.js';
export { parseDuration } from './core/duration.js';
export type { Duration } from './core/duration.js';
export { manualClock, systemClock } from './core/clock.js';
export type { Clock, ManualClock } from './core/clock.js';
export type { TelemetryApi, TelemetryMeter, TelemetrySpan, TelemetryTracer } from './core/telemetry.js';
export { parseToken, isHandle, hashSecret } from './core/token.js';
export type { ParsedToken } from './core/token.js';
export { parseUserAgent } from './core/device.js';
