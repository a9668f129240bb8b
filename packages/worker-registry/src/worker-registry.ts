import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { RedisConnectionManager } from '@shim/connection';
import {
  emitSafely,
  isConnectionManagerLike,
  parseJsonWithoutProto,
  runLuaScript,
  subscriptionHub,
  toError,
  type HubUnsubscribe,
  type LuaScript,
} from '@shim/connection/kit';
import { isWorkerRegistryError, WorkerRegistryError } from './errors.js';
import type { RegistryEvent, RegistryEventHandler, WorkerRegistryEvents } from './events.js';
import { ListCache, type AliveReply } from './internal/list-cache.js';
import { everyInterval, LocalWorkers } from './internal/local-workers.js';
import { GET, LIST_ALIVE, REAP_STALE, REGISTER, UNREGISTER, UPDATE } from './internal/scripts.js';
import { checkMetadata, checkStatus, v } from './internal/validation.js';
import { assertWorkerId, registryKeys, type RegistryKeys } from './keys.js';
import { DEFAULT_WORKER_REGISTRY_OPTIONS, type WorkerRegistryOptions } from './options.js';
import type { AutoHeartbeatOptions, HeartbeatOptions, ListFilter, RegisterOptions, StopHeartbeat } from './types.js';
import { isWorkerStatus, parseWorkers, type WorkerInfo, type WorkerStatus } from './worker-info.js';

const STALE_BATCH = 500;

/**
 * Who is alive, what they can do and what they are doing. Liveness is a sorted set of last heartbeats judged by
 * Redis' clock inside Lua scripts, so processes whose clocks disagree still agree on who is alive, and every change
 * is atomic with the event it publishes.
 *
 * @example
 * ```ts
 * const registry = new WorkerRegistry(manager, { heartbeatTtlMs: 6_000 });
 * await registry.registerWorker('worker-1', { capabilities: ['typescript'] });
 * const stop = registry.startHeartbeat('worker-1', { intervalMs: 2_000 });
 * console.log(await registry.listActive({ capability: 'typescript' }));
 * ```
 */
export class WorkerRegistry extends EventEmitter<WorkerRegistryEvents> {
  readonly #manager: RedisConnectionManager;
  readonly #keys: RegistryKeys;
  readonly #ttlMs: number;
  readonly #maxMetadataBytes: number;
  readonly #emitError = (error: unknown): void => emitSafely(this, 'error', toError(error));
  readonly #local = new LocalWorkers(this.#emitError);
  readonly #list = new ListCache(
    async (epoch, seq) => (await this.#run(LIST_ALIVE, [this.#ttlMs, epoch, seq])) as AliveReply,
  );
  readonly #handlers = new Set<RegistryEventHandler>();
  /** The one hub subscription to the events channel, shared by every handler of this registry. */
  #feed: Promise<HubUnsubscribe> | undefined;
  #cleanupTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  /** Validates `options` at once (throws `INVALID_OPTION`); connects nothing. */
  constructor(connection: RedisConnectionManager, options: WorkerRegistryOptions = {}) {
    super();
    if (!isConnectionManagerLike(connection)) {
      v.fail('INVALID_OPTION', 'connection', 'connection must be a RedisConnectionManager');
    }
    v.object(options, 'options', 'INVALID_OPTION');
    const d = DEFAULT_WORKER_REGISTRY_OPTIONS;
    const ms = (field: string, value: unknown, unit = 'ms'): number =>
      v.integer(value, { field, code: 'INVALID_OPTION', unit });
    this.#manager = connection;
    this.#keys = registryKeys(connection.namespace);
    this.#ttlMs = ms('heartbeatTtlMs', options.heartbeatTtlMs ?? d.heartbeatTtlMs);
    this.#maxMetadataBytes = ms('maxMetadataBytes', options.maxMetadataBytes ?? d.maxMetadataBytes, 'bytes');
    if (options.cleanupIntervalMs !== undefined) {
      const interval = ms('cleanupIntervalMs', options.cleanupIntervalMs);
      this.#cleanupTimer = everyInterval(interval, () => this.detectStale(), this.#emitError);
    }
  }

  /** The TTL every liveness judgement uses. Unit: ms. */
  get heartbeatTtlMs(): number {
    return this.#ttlMs;
  }

  /**
   * Registers `id` with `metadata` and status `idle`, under a fresh incarnation. Fails with `ALREADY_REGISTERED`
   * while another registration of `id` is alive, unless `replace` is set; an id whose registration went stale may
   * register again.
   */
  async registerWorker(id: string, metadata: object = {}, options: RegisterOptions = {}): Promise<WorkerInfo> {
    this.#assertOpen();
    const workerId = assertWorkerId(id);
    v.object(options, 'options', 'INVALID_OPTION');
    const checked = checkMetadata(metadata, this.#maxMetadataBytes);
    return this.#register(workerId, { metadata: checked, status: 'idle', replace: options.replace === true });
  }

  /**
   * Refreshes `id`'s liveness (one round trip), optionally with a status change and a metadata patch. Fails with
   * `NOT_REGISTERED` when the worker is unknown, reaped, past its TTL (even if nobody cleaned it up yet) or
   * registered again under a newer incarnation: register again.
   */
  async heartbeat(id: string, options: HeartbeatOptions = {}): Promise<void> {
    this.#assertOpen();
    const workerId = assertWorkerId(id);
    v.object(options, 'options', 'INVALID_OPTION');
    const { status, metadata, removeMetadataKeys: removals = [] } = options;
    if (status !== undefined) checkStatus(status, 'heartbeat status', ['idle', 'busy']);
    if (!Array.isArray(removals) || removals.some((key) => typeof key !== 'string')) {
      v.fail('INVALID_METADATA', 'removeMetadataKeys', 'removeMetadataKeys must be an array of strings');
    }
    const local = this.#local.require(workerId);
    // The worker owns its metadata: the patch is merged here and the whole info sent, so the script only stores it.
    let info = '';
    if (metadata !== undefined || removals.length > 0) {
      const patch = metadata === undefined ? {} : checkMetadata(metadata, this.#maxMetadataBytes, 'metadata patch');
      const merged = { ...local.metadata, ...patch };
      for (const key of removals) Reflect.deleteProperty(merged, key);
      // Kept before the round trip, so a concurrent patch merges into this one rather than losing it.
      local.metadata = checkMetadata(merged, this.#maxMetadataBytes);
      const { incarnation, registeredAt } = local;
      info = JSON.stringify({ id: workerId, incarnation, metadata: local.metadata, registeredAt });
    }
    // A plain heartbeat changes nothing listActive() keeps a copy of: that is what keeps it cheap.
    const epoch = status === undefined && info === '' ? '' : randomUUID();
    const args = [workerId, local.incarnation, this.#ttlMs, this.#keys.events, status ?? '', info, epoch, '1'];
    this.#assertAccepted(workerId, (await this.#run(UPDATE, args)) as string);
    if (status !== undefined) local.status = status;
  }

  /** Sets `id`'s status; every process sees it at once (a `status` event). `offline` keeps it listed until its TTL passes. */
  async setStatus(id: string, status: WorkerStatus): Promise<void> {
    this.#assertOpen();
    const workerId = assertWorkerId(id);
    checkStatus(status, 'status');
    const local = this.#local.get(workerId);
    const args = [workerId, local?.incarnation ?? '', this.#ttlMs, this.#keys.events, status, '', randomUUID(), ''];
    this.#assertAccepted(workerId, (await this.#run(UPDATE, args)) as string);
    if (local !== undefined) local.status = status;
  }

  /** The worker if it is alive (heartbeat within the TTL), whatever its status; else undefined. */
  async get(id: string): Promise<WorkerInfo | undefined> {
    this.#assertOpen();
    const workerId = assertWorkerId(id);
    return parseWorkers((await this.#run(GET, [workerId, this.#ttlMs])) as string)[0];
  }

  /**
   * Every alive worker (heartbeat within the TTL by Redis' clock), optionally filtered, oldest heartbeat first. One
   * round trip. Besides the ids and heartbeat times, only the workers whose registration, status or metadata changed
   * since this registry's previous call come over the wire (every change takes a sequence number in the same script);
   * any change by any process is seen by the next call.
   */
  async listActive(filter: ListFilter = {}): Promise<WorkerInfo[]> {
    this.#assertOpen();
    v.object(filter, 'filter', 'INVALID_OPTION');
    if (filter.status !== undefined) checkStatus(filter.status, 'status filter');
    return this.#list.list(filter);
  }

  /**
   * Reaps every worker past its TTL: removes it (and its keys) and publishes `stale`, each atomically — a heartbeat
   * that got in first keeps its worker, one that comes after is refused. Resolves with the reaped workers.
   */
  async detectStale(): Promise<WorkerInfo[]> {
    this.#assertOpen();
    const reaped: WorkerInfo[] = [];
    for (;;) {
      const args = [this.#ttlMs, this.#keys.events, STALE_BATCH];
      const [found, json] = (await this.#run(REAP_STALE, args)) as [number, string];
      reaped.push(...parseWorkers(json));
      if (found < STALE_BATCH) return reaped;
    }
  }

  /** Removes `id` and its keys (publishing `left`) and stops its automatic heartbeat. Idempotent. */
  async unregister(id: string): Promise<void> {
    this.#assertOpen();
    const workerId = assertWorkerId(id);
    const incarnation = this.#local.get(workerId)?.incarnation ?? '';
    this.#local.delete(workerId);
    // A registry that registered the worker removes only its own incarnation, never a successor's.
    await this.#run(UNREGISTER, [workerId, this.#keys.events, incarnation]);
  }

  /**
   * Heartbeats `id` every `intervalMs` (the timer never keeps the process alive). When the registration is gone (data
   * loss, reaped after a long pause) it registers the worker again with its metadata, emits `reregistered` here and a
   * `joined` event with reason `recovered` everywhere. Failures go to `error`. Stopped by the returned function,
   * `unregister()` and `close()`.
   */
  startHeartbeat(id: string, options: AutoHeartbeatOptions): StopHeartbeat {
    this.#assertOpen();
    const workerId = assertWorkerId(id);
    v.object(options, 'options { intervalMs }', 'INVALID_OPTION');
    const intervalMs = v.integer(options.intervalMs, { field: 'intervalMs', code: 'INVALID_OPTION' });
    if (intervalMs >= this.#ttlMs) {
      const why = `${intervalMs} ms is not below heartbeatTtlMs (${this.#ttlMs} ms); use a third of it or less`;
      v.fail('INVALID_OPTION', 'intervalMs', `invalid option 'intervalMs': ${why}`);
    }
    return this.#local.start(workerId, intervalMs, () => this.#beat(workerId));
  }

  /**
   * Calls `handler(event)` for every registry event in this namespace, from any process, from the moment the returned
   * promise resolves. Events are Pub/Sub: at-most-once (see the README).
   */
  async subscribe(handler: RegistryEventHandler): Promise<() => Promise<void>> {
    this.#assertOpen();
    if (typeof handler !== 'function') v.fail('INVALID_OPTION', 'handler', 'handler must be a function');
    // Added before the feed is confirmed, so a racing last unsubscribe does not drop the feed this one needs.
    this.#handlers.add(handler);
    // #onMessage routes every failure to 'error' itself: the hub never sees a throw from it.
    this.#feed ??= subscriptionHub(this.#manager).subscribe(this.#keys.events, this.#onMessage);
    const feed = this.#feed;
    try {
      await feed;
    } catch (error) {
      this.#handlers.delete(handler);
      if (this.#feed === feed) this.#feed = undefined;
      throw error;
    }
    let removed: Promise<void> | undefined;
    return () =>
      (removed ??= (async () => {
        this.#handlers.delete(handler);
        if (this.#handlers.size === 0) await this.#dropFeed();
      })());
  }

  /** Stops every automatic heartbeat and the cleanup timer, and drops event subscriptions. Registrations stay. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#cleanupTimer);
      this.#local.stop();
      this.#handlers.clear();
      await this.#dropFeed();
    })();
    return this.#closing;
  }

  /** Same as {@link WorkerRegistry.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #register(
    workerId: string,
    registration: { metadata: Record<string, unknown>; status: WorkerStatus; replace: boolean; reason?: string },
  ): Promise<WorkerInfo> {
    const { metadata, status, replace, reason = '' } = registration;
    const incarnation = randomUUID();
    const info = JSON.stringify({ id: workerId, incarnation, metadata });
    const args = [workerId, incarnation, this.#ttlMs, replace ? '1' : '0', this.#keys.events, reason, info, status];
    const [verdict, json] = (await this.#run(REGISTER, [...args, randomUUID()])) as [string, string];
    if (verdict !== 'OK') {
      const why = `worker '${workerId}' is registered and alive (incarnation ${json}): pass { replace: true } to take over`;
      throw new WorkerRegistryError('ALREADY_REGISTERED', why, { workerId });
    }
    const [worker] = parseWorkers(json) as [WorkerInfo];
    this.#local.record(workerId, { incarnation, registeredAt: worker.registeredAt, metadata, status });
    return worker;
  }

  /** One automatic heartbeat: registers the worker again if its registration is gone. */
  async #beat(workerId: string): Promise<void> {
    try {
      await this.heartbeat(workerId);
    } catch (error) {
      if (isWorkerRegistryError(error, 'REPLACED')) {
        // Superseded by a newer registration of the id: this instance must not come back.
        this.#local.delete(workerId);
        this.emit('replaced', workerId);
        return;
      }
      const local = this.#local.get(workerId);
      // Unregistered or closed while the heartbeat was in flight: nothing to bring back.
      if (!isWorkerRegistryError(error, 'NOT_REGISTERED') || local?.timer === undefined || this.#closing) throw error;
      // The registration is gone (FLUSHALL, restart without persistence, reaped): come back as it was.
      const { metadata, status } = local;
      const worker = await this.#register(workerId, { metadata, status, replace: false, reason: 'recovered' });
      this.emit('reregistered', worker);
    }
  }

  // The hub calls this once per event, whatever the number of handlers: one parse, one error if malformed.
  readonly #onMessage = (raw: string): void => {
    let event: RegistryEvent;
    try {
      event = parseJsonWithoutProto(raw) as RegistryEvent;
      if (typeof event.worker.id !== 'string' || !isWorkerStatus(event.worker.status))
        throw new Error('event without a complete worker');
    } catch (error) {
      const message = `malformed registry event: ${raw.slice(0, 200)}`;
      this.#emitError(new WorkerRegistryError('MALFORMED_EVENT', message, { cause: error }));
      return;
    }
    for (const handler of this.#handlers) {
      try {
        const result = handler(event);
        if (result instanceof Promise) result.catch(this.#emitError);
      } catch (error) {
        this.#emitError(error);
      }
    }
  };

  /** Ends the hub subscription (the hub unsubscribes in Redis when nobody else needs the channel). */
  async #dropFeed(): Promise<void> {
    const feed = this.#feed;
    this.#feed = undefined;
    const unsubscribe = await feed?.catch(() => undefined);
    await unsubscribe?.();
  }

  /** Runs a Lua script (on every key of the registry) on the command connection. */
  #run(target: LuaScript, args: Array<string | number>): Promise<unknown> {
    return runLuaScript(this.#manager.getConnection(), target, { keys: this.#keys.all, args });
  }

  /** Throws what a refusal of UPDATE means. */
  #assertAccepted(workerId: string, verdict: string): void {
    if (verdict === 'REPLACED') {
      const why = `worker '${workerId}' was registered again under a newer incarnation: this registration is over`;
      throw new WorkerRegistryError('REPLACED', why, { workerId });
    }
    if (verdict !== 'OK') {
      const why = `worker '${workerId}' is not registered (unknown, reaped, past its ${this.#ttlMs} ms TTL, or registered again elsewhere): register it again`;
      throw new WorkerRegistryError('NOT_REGISTERED', why, { workerId });
    }
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new WorkerRegistryError('REGISTRY_CLOSED', 'the worker registry was closed');
  }
}
