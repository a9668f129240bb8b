import type { ConnectionHealth, HealthReport } from './events.js';
import type { Redactor } from './internal/redact.js';
import { within, type ManagerContext, type Tracked, type TrackedConnections } from './tracked-connections.js';

/** Consecutive failed PINGs after which a connection that still looks `ready` is dropped and reconnected (half-open socket). */
const FAILED_CHECKS_BEFORE_RECONNECT = 2;

/** What the manager read from the server at connect (and after each reconnect of the command connection). */
export interface ServerInfo {
  /** `redis_version` from `INFO server`. */
  version: string;
  /** `maxmemory-policy`, or undefined when `CONFIG GET` is not allowed (managed Redis, ACL). */
  maxmemoryPolicy: string | undefined;
}

/**
 * Health of a manager's connections: a PING per command and subscriber connection (bounded, at
 * most one in flight each), a half-open socket dropped after repeated silence, and the server
 * settings read at connect (version, `maxmemory-policy`) with warnings for those that lose data.
 */
export class HealthMonitor {
  readonly #context: ManagerContext;
  readonly #connections: TrackedConnections;
  readonly #redactor: Redactor;
  #lastReport: HealthReport | undefined;
  #serverInfo: ServerInfo | undefined;

  constructor(context: ManagerContext, connections: TrackedConnections, redactor: Redactor) {
    this.#context = context;
    this.#connections = connections;
    this.#redactor = redactor;
  }

  get lastReport(): HealthReport | undefined {
    return this.#lastReport;
  }

  get serverInfo(): ServerInfo | undefined {
    return this.#serverInfo === undefined ? undefined : { ...this.#serverInfo };
  }

  /** Checks every established connection; `healthy` also needs the manager itself to be fine. */
  async check(managerFine: () => boolean): Promise<HealthReport> {
    const established = this.#connections.all().filter((tracked) => tracked.established || tracked.fatal !== undefined);
    const connections = await Promise.all(established.map((tracked) => this.checkOne(tracked)));
    const command = connections.find((connection) => connection.role === 'command');
    const report: HealthReport = {
      healthy: managerFine() && connections.every((connection) => connection.healthy),
      latencyMs: command?.latencyMs,
      checkedAt: Date.now(),
      connections,
    };
    this.#lastReport = report;
    this.#context.emit('health', report);
    return report;
  }

  async checkOne(tracked: Tracked): Promise<ConnectionHealth> {
    const base = { ...tracked.ref, status: tracked.client.status as string };
    if (!this.#connections.usable(tracked)) {
      tracked.lastCheckOk = false;
      return { ...base, healthy: false, latencyMs: undefined };
    }
    // A PING would queue behind the blocking command and prove nothing.
    if (tracked.ref.role === 'blocking') return { ...base, healthy: true, latencyMs: undefined };
    // At most one PING in flight per connection, so a frozen server does not pile them up.
    if (tracked.pendingPing === undefined) {
      const startedAt = performance.now();
      tracked.pendingPing = tracked.client
        .ping()
        .then(
          () => {
            // A late answer still proves the connection works: recovery shows at once, not at the next check.
            tracked.lastCheckOk = true;
            tracked.failedChecks = 0;
            return performance.now() - startedAt;
          },
          () => undefined,
        )
        .finally(() => {
          tracked.pendingPing = undefined;
        });
    }
    const latencyMs = await within(tracked.pendingPing, this.#context.config.healthCheckTimeoutMs);
    const healthy = latencyMs !== undefined && this.#connections.usable(tracked);
    tracked.lastCheckOk = healthy;
    if (!healthy) this.#checkFailed(tracked);
    return { ...base, healthy, latencyMs: latencyMs === undefined ? undefined : Math.round(latencyMs * 100) / 100 };
  }

  /**
   * A socket that stays `ready` but answers nothing (half-open: frozen server, lost network) is
   * dropped after FAILED_CHECKS_BEFORE_RECONNECT failed PINGs, so ioredis reconnects and the offline
   * bound applies to what waits on it.
   */
  #checkFailed(tracked: Tracked): void {
    tracked.failedChecks += 1;
    if (tracked.failedChecks < FAILED_CHECKS_BEFORE_RECONNECT || tracked.client.status !== 'ready') return;
    tracked.failedChecks = 0;
    tracked.lastError = `no answer to ${FAILED_CHECKS_BEFORE_RECONNECT} health checks`;
    tracked.client.stream.destroy();
  }

  /** Reads the server's version and `maxmemory-policy`; warns when it can't, or when the policy evicts. */
  async inspectServer(tracked: Tracked): Promise<void> {
    const { client } = tracked;
    const { address } = this.#context;
    let version = 'unknown';
    try {
      const info = await client.info('server');
      version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
    } catch (error) {
      this.#context.emit('warning', {
        code: 'SERVER_INFO_UNAVAILABLE',
        message: `could not read INFO from Redis at ${address}: ${this.#redactor.error(error).message}`,
      });
    }
    let maxmemoryPolicy: string | undefined;
    try {
      const reply = (await client.config('GET', 'maxmemory-policy')) as unknown;
      if (Array.isArray(reply) && typeof reply[1] === 'string') maxmemoryPolicy = reply[1];
    } catch (error) {
      this.#context.emit('warning', {
        code: 'SERVER_INFO_UNAVAILABLE',
        message: `could not read maxmemory-policy from Redis at ${address} (check that it is noeviction yourself): ${this.#redactor.error(error).message}`,
      });
    }
    this.#serverInfo = { version, maxmemoryPolicy };
    if (maxmemoryPolicy !== undefined && maxmemoryPolicy !== 'noeviction') {
      this.#context.emit('warning', {
        code: 'MAXMEMORY_POLICY',
        message: `Redis at ${address} has maxmemory-policy '${maxmemoryPolicy}': under memory pressure it evicts keys, and queues (BullMQ) lose jobs. Set it to 'noeviction'.`,
      });
    }
  }
}
