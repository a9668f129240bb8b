import type { ShimConnectionError } from './errors.js';

/** What a connection is for. Roles that cannot share a socket get their own connection. */
export type ConnectionRole = 'command' | 'subscriber' | 'blocking';

/** Identifies one connection owned by the manager. */
export interface ConnectionRef {
  role: ConnectionRole;
  /** Unique within the manager: `command`, `subscriber-1`, `blocking-2`, or the name given. */
  name: string;
}

/** Health of one connection at the last check. */
export interface ConnectionHealth extends ConnectionRef {
  /** ioredis status (`ready`, `reconnecting`, …). */
  status: string;
  healthy: boolean;
  /** Round trip of the last PING. Unit: ms. Undefined for blocking connections (never pinged: a PING would queue behind the blocking command). */
  latencyMs: number | undefined;
}

/** Result of one health check. */
export interface HealthReport {
  /** True when every connection is ready and answered its PING in time. */
  healthy: boolean;
  /** PING round trip of the command connection. Unit: ms. Undefined when it did not answer. */
  latencyMs: number | undefined;
  /** When the check finished. Unit: ms since epoch (local clock). */
  checkedAt: number;
  connections: ConnectionHealth[];
}

/** Codes of `warning` events. */
export type ConnectionWarningCode =
  'MAXMEMORY_POLICY' | 'SERVER_INFO_UNAVAILABLE' | 'OFFLINE_COMMANDS_FAILED' | 'OFFLINE_FLUSH_UNSUPPORTED';

/** Payload of `warning`. */
export interface ConnectionWarning {
  code: ConnectionWarningCode;
  message: string;
}

/**
 * Events of {@link RedisConnectionManager}. Connection-level events carry the connection's
 * `role` and `name`. No payload ever contains a password.
 */
export interface RedisConnectionManagerEvents {
  /** A connection's socket (and TLS session) is up; Redis has not answered the handshake yet. */
  connected: [ConnectionRef & { address: string }];
  /** A connection finished its handshake and accepts commands (first time and after every reconnect). */
  ready: [ConnectionRef];
  /** A connection that was up has dropped. `reason` is the last error seen, if any. */
  disconnected: [ConnectionRef & { reason: string | undefined }];
  /** A connection will try again in `delayMs`; `attempt` counts from 1 within this outage. */
  reconnecting: [ConnectionRef & { attempt: number; delayMs: number; reason: string | undefined }];
  /** Result of each periodic health check (every `healthCheckIntervalMs`). */
  health: [HealthReport];
  /** Something works but deserves attention (e.g. `maxmemory-policy` is not `noeviction`). */
  warning: [ConnectionWarning];
  /**
   * A failure no promise could report: fatal auth/TLS failure after connect, reconnect attempts
   * exhausted, an error thrown by one of your listeners. Without a listener it is dropped, never thrown.
   */
  error: [ShimConnectionError | Error];
  /** `disconnect()` finished: every connection is closed. */
  closed: [];
}
