import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { RedisConnectionManager } from '@shim/connection';
import {
  emitSafely,
  runLuaScript,
  subscriptionHub,
  toError,
  type HubUnsubscribe,
  type LuaScript,
} from '@shim/connection/kit';
import { WorkerRegistryError } from './errors.js';
import type { RegistryEvent, RegistryEventHandler, WorkerRegistryEvents } from './events.js';
import { checkMetadata, checkStatus, v } from './internal/validation.js';
import { GET, HEARTBEAT, LIST_ALIVE, REAP, REGISTER, SET_STATUS, STALE_IDS, UNREGISTER } from './internal/scripts.js';
import { assertWorkerId, registryKeys, type RegistryKeys } from './keys.js';
import { resolveOptions, type WorkerRegistryOptions } from './options.js';
import { isWorkerStatus, parseRegistryJson, type WorkerInfo, type WorkerStatus } from './worker-info.js';

/** Options of {@link WorkerRegistry.registerWorker}. */
export interface RegisterOptions {
  /** Take over the id even if a live worker holds it (its incarnation is then refused). @defaultValue false */
  replace?: boolean | undefined;
}

/** Options of {@link WorkerRegistry.heartbeat}. */
export interface HeartbeatOptions {
  /** New status, visible to every process with the heartbeat. */
  status?: 'idle' | 'busy' | undefined;
  /** Top-level metadata keys to set (merged into what was registered). */
  metadata?: Record<string, unknown> | undefined;
  /** Top-level metadata keys to remove. */
  removeMetadataKeys?: string[] | undefined;
}

/** Filter of {@link WorkerRegistry.listActive}. */
export interface ListFilter {
  status?: WorkerStatus | undefined;
  /** Only workers whose `metadata.capabilities` (an array) contains this value. */
  capability?: string | undefined;
}

/** Options of {@link WorkerRegistry.startHeartbeat}. */
export interface AutoHeartbeatOptions {
  /** Time between heartbeats; keep it well under the TTL (a third or less). Unit: ms. */
  intervalMs: number;
}

/** Stops an automatic heartbeat. */
export type StopHeartbeat = () => void;

interface LocalWorker {
  incarnation: string;
  registeredAt: number;
  metadata: Record<string, unknown>;
  /** The status this registry last set: a worker registered again after data loss comes back with it. */
  status: WorkerStatus;
  timer: NodeJS.Timeout | undefined;
}

/** The slow-changing part of a worker, as `listActive()` last read it (see `LIST_ALIVE`). */
interface CachedWorker {
  incarnation: string;
  registeredAt: number;
  status: WorkerStatus;
  /** Only read here (capability filter), never handed out: callers get a fresh parse of `metadataJson`. */
  metadata: Record<string, unknown>;
  metadataJson: string;
}

/**
 * This registry's copy of the slow-changing part of the workers, current up to sequence number
 * `seq` of `epoch`: every id alive at the last full read, plus those changed since; `null` for an
 * alive id without info (not a worker). Entries of workers no longer alive are dropped now and then.
 */
interface ListCache {
  epoch: string;
  seq: number;
  workers: Map<string, CachedWorker | null>;
}

/** One read of the alive workers: ids and last heartbeats alternating, and the copy they go with. */
interface AliveRead {
  cache: ListCache;
  alive: string[];
  /** True when `cache` is a copy from an earlier call brought up to date, not a full read. */
  reused: boolean;
}

const STALE_BATCH = 500;

/** The filtered list, or undefined when a reused copy lacks an alive id. */
function buildList({ cache, alive, reused }: AliveRead, filter: ListFilter): WorkerInfo[] | undefined {
  const workers: WorkerInfo[] = [];
  for (let index = 0; index < alive.length; index += 2) {
    const id = alive[index] as string;
    const cached = cache.workers.get(id);
    if (cached === undefined && reused) return undefined;
    // Alive but without info (deleted by hand): no worker.
    if (cached == null) continue;
    if (filter.status !== undefined && cached.status !== filter.status) continue;
    if (filter.capability !== undefined) {
      const capabilities = cached.metadata['capabilities'];
      if (!Array.isArray(capabilities) || !capabilities.includes(filter.capability)) continue;
    }
    workers.push({
      id,
      incarnation: cached.incarnation,
      // A fresh copy per call: a caller changing what it got must not change the next list.
      metadata: JSON.parse(cached.metadataJson) as Record<string, unknown>,
      registeredAt: cached.registeredAt,
      status: cached.status,
      lastHeartbeat: Number(alive[index + 1]),
    });
  }
  return workers;
}

/**
 * Who is alive, what they can do and what they are doing. Liveness is a sorted set of last
 * heartbeats judged by Redis' clock inside Lua scripts, so processes whose clocks disagree still
 * agree on who is alive, and every change is atomic with the event it publishes.
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
  readonly #local = new Map<string, LocalWorker>();
  readonly #handlers = new Set<RegistryEventHandler>();
  /** The one hub subscription to the events channel, shared by every handler of this registry. */
  #feed: Promise<HubUnsubscribe> | undefined;
  #cleanupTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #listCache: ListCache | undefined;

  /** Validates `options` at once (throws `INVALID_OPTION`); connects nothing. */
  constructor(connection: RedisConnectionManager, options: WorkerRegistryOptions = {}) {
    super();
    const { ttlMs, maxMetadataBytes, cleanupIntervalMs } = resolveOptions(connection, options);
    this.#manager = connection;
    this.#keys = registryKeys(connection.namespace);
    this.#ttlMs = ttlMs;
    this.#maxMetadataBytes = maxMetadataBytes;
    if (cleanupIntervalMs !== undefined) {
      let cleaning = false;
      this.#cleanupTimer = setInterval(() => {
        // A slow Redis must not stack cleanups up.
        if (cleaning) return;
        cleaning = true;
        this.detectStale()
          .catch((error: unknown) => {
            this.#emitError(error);
          })
          .finally(() => {
            cleaning = false;
          });
      }, cleanupIntervalMs);
      this.#cleanupTimer.unref();
    }
  }

  /** The TTL every liveness judgement uses. Unit: ms. */
  get heartbeatTtlMs(): number {
    return this.#ttlMs;
  }

  /**
   * Registers `id` with `metadata` and status `idle`, under a fresh incarnation. Fails with
   * `ALREADY_REGISTERED` while another registration of `id` is alive, unless `replace` is set; an id
   * whose registration went stale may register again.
   */
  async registerWorker(id: string, metadata: object = {}, options: RegisterOptions = {}): Promise<WorkerInfo> {
    this.#assertOpen();
    const workerId = assertWorkerId(id);
    v.object(options, 'options', 'INVALID_OPTION');
    const checked = checkMetadata(metadata, this.#maxMetadataBytes);
    return this.#register(workerId, {
      metadata: checked,
      status: 'idle',
      replace: options.replace === true,
      reason: '',
    });
  }

  /**
   * Refreshes `id`'s liveness (one round trip), optionally with a status change and a metadata
   * patch. Fails with `NOT_REGISTERED` when the worker is unknown, reaped, past its TTL (even if
   * nobody cleaned it up yet) or registered again under a newer incarnation: register again.
   */
  async heartbeat(id: string, options: HeartbeatOptions = {}): Promise<void> {
    this.#assertOpen();
    const workerId = assertWorkerId(id);
    v.object(options, 'options', 'INVALID_OPTION');
    if (options.status !== undefined) checkStatus(options.status, 'heartbeat status', ['idle', 'busy']);
    const removals = options.removeMetadataKeys ?? [];
    if (!Array.isArray(removals) || removals.some((key) => typeof key !== 'string')) {
      v.fail('INVALID_METADATA', 'removeMetadataKeys', 'removeMetadataKeys must be an array of strings');
    }
    const local = this.#local.get(workerId);
    if (local === undefined) {
      throw new WorkerRegistryError(
        'NOT_REGISTERED',
        `worker '${workerId}' is not registered by this registry: register it first`,
        {
          workerId,
        },
      );
    }
    // The worker owns its metadata: the patch is merged here and the whole info sent, so the script only stores it.
    let info = '';
    let merged: Record<string, unknown> | undefined;
    if (options.metadata !== undefined || removals.length > 0) {
      merged = {
        ...local.metadata,
        ...(options.metadata === undefined
          ? {}
          : checkMetadata(options.metadata, this.#maxMetadataBytes, 'metadata patch')),
      };
      for (const key of removals) Reflect.deleteProperty(merged, key);
      merged = checkMetadata(merged, this.#maxMetadataBytes);
      // Kept before the round trip, so a concurrent patch merges into this one rather than losing it.
      local.metadata = merged;
      // The stored info: JSON { id, incarnation, metadata, registeredAt }.
      info = JSON.stringify({
        id: workerId,
        incarnation: local.incarnation,
        metadata: merged,
        registeredAt: local.registeredAt,
      });
    }
    const reply = (await this.#run(HEARTBEAT, this.#keys.all, [
      workerId,
      local.incarnation,
      this.#ttlMs,
      this.#keys.events,
      options.status ?? '',
      info,
      // A plain heartbeat changes nothing listActive() keeps a copy of: that is what keeps it cheap.
      options.status === undefined && info === '' ? '' : randomUUID(),
    ])) as [string];
    if (reply[0] === 'REPLACED') throw this.#replaced(workerId);
    if (reply[0] !== 'OK') throw this.#notRegistered(workerId);
    if (options.status !== undefined) local.status = options.status;
  }

  /** Sets `id`'s status; every process sees it at once (a `status` event). `offline` keeps it listed until its TTL passes. */
  async setStatus(id: string, status: WorkerStatus): Promise<void> {
    this.#assertOpen();
    const workerId = assertWorkerId(id);
    checkStatus(status, 'status');
    const local = this.#local.get(workerId);
    const reply = (await this.#run(SET_STATUS, this.#keys.all, [
      workerId,
      status,
      this.#ttlMs,
      this.#keys.events,
      local?.incarnation ?? '',
      randomUUID(),
    ])) as [string];
    if (reply[0] === 'REPLACED') throw this.#replaced(workerId);
    if (reply[0] !== 'OK') throw this.#notRegistered(workerId);
    if (local !== undefined) local.status = status;
  }

  /** The worker if it is alive (heartbeat within the TTL), whatever its status; else undefined. */
  async get(id: string): Promise<WorkerInfo | undefined> {
    this.#assertOpen();
    const workerId = assertWorkerId(id);
    const json = (await this.#run(GET, this.#keys.all, [workerId, this.#ttlMs])) as string;
    return json === '' ? undefined : parseRegistryJson<WorkerInfo>(json);
  }

  /**
   * Every alive worker (heartbeat within the TTL by Redis' clock), optionally filtered, oldest
   * heartbeat first. One round trip. Besides the ids and heartbeat times, only the workers whose
   * registration, status or metadata changed since this registry's previous call come over the
   * wire (every change takes a sequence number in the same script); any change by any process is
   * seen by the next call.
   */
  async listActive(filter: ListFilter = {}): Promise<WorkerInfo[]> {
    this.#assertOpen();
    v.object(filter, 'filter', 'INVALID_OPTION');
    if (filter.status !== undefined) checkStatus(filter.status, 'status filter');
    const workers = buildList(await this.#readAlive(this.#listCache), filter);
    if (workers !== undefined) return workers;
    // An alive id the copy has never seen although no change says so: the clock went back, or a
    // writer that does not number its changes. Read everything again rather than miss it.
    return buildList(await this.#readAlive(undefined), filter) ?? [];
  }

  /**
   * Reaps every worker past its TTL: removes it (and its keys) and publishes `stale`, each
   * atomically — a heartbeat that got in first keeps its worker, one that comes after is refused.
   * Resolves with the reaped workers.
   */
  async detectStale(): Promise<WorkerInfo[]> {
    this.#assertOpen();
    const reaped: WorkerInfo[] = [];
    for (;;) {
      const ids = (await this.#run(STALE_IDS, [this.#keys.alive], [this.#ttlMs, STALE_BATCH])) as string[];
      if (ids.length === 0) return reaped;
      const results = (await Promise.all(
        ids.map((id) => this.#run(REAP, this.#keys.all, [id, this.#ttlMs, this.#keys.events])),
      )) as string[];
      for (const json of results) if (json !== '') reaped.push(parseRegistryJson<WorkerInfo>(json));
      if (ids.length < STALE_BATCH) return reaped;
    }
  }

  /** Removes `id` and its keys (publishing `left`) and stops its automatic heartbeat. Idempotent. */
  async unregister(id: string): Promise<void> {
    this.#assertOpen();
    const workerId = assertWorkerId(id);
    const local = this.#local.get(workerId);
    this.#stopTimer(workerId);
    this.#local.delete(workerId);
    // A registry that registered the worker removes only its own incarnation, never a successor's.
    await this.#run(UNREGISTER, this.#keys.all, [workerId, this.#keys.events, local?.incarnation ?? '']);
  }

  /**
   * Heartbeats `id` every `intervalMs` (the timer never keeps the process alive). When the
   * registration is gone (data loss, reaped after a long pause) it registers the worker again with
   * its metadata, emits `reregistered` here and a `joined` event with reason `recovered` everywhere.
   * Failures go to `error`. Stopped by the returned function, `unregister()` and `close()`.
   */
  startHeartbeat(id: string, options: AutoHeartbeatOptions): StopHeartbeat {
    this.#assertOpen();
    const workerId = assertWorkerId(id);
    v.object(options, 'options { intervalMs }', 'INVALID_OPTION');
    const intervalMs = v.integer(options.intervalMs, { field: 'intervalMs', code: 'INVALID_OPTION' });
    if (intervalMs >= this.#ttlMs) {
      v.fail(
        'INVALID_OPTION',
        'intervalMs',
        `invalid option 'intervalMs': ${intervalMs} ms is not below heartbeatTtlMs (${this.#ttlMs} ms); use a third of it or less`,
      );
    }
    const local = this.#local.get(workerId);
    if (local === undefined) {
      throw new WorkerRegistryError(
        'NOT_REGISTERED',
        `worker '${workerId}' is not registered by this registry: register it first`,
        {
          workerId,
        },
      );
    }
    this.#stopTimer(workerId);
    let running = false;
    const timer = setInterval(() => {
      // A slow Redis must not stack heartbeats up.
      if (running) return;
      running = true;
      this.#beat(workerId)
        .catch((error: unknown) => {
          this.#emitError(error);
        })
        .finally(() => {
          running = false;
        });
    }, intervalMs);
    timer.unref();
    local.timer = timer;
    return () => {
      if (local.timer === timer) this.#stopTimer(workerId);
    };
  }

  /**
   * Calls `handler(event)` for every registry event in this namespace, from any process, from the
   * moment the returned promise resolves. Events are Pub/Sub: at-most-once (see the README).
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
      this.#listCache = undefined;
      for (const id of this.#local.keys()) this.#stopTimer(id);
      this.#handlers.clear();
      await this.#dropFeed();
    })();
    return this.#closing;
  }

  /** Same as {@link WorkerRegistry.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------------------------------------------------------------- internals

  /** One LIST_ALIVE round trip: the alive ids and heartbeats (alternating), and the copy brought up to date. */
  async #readAlive(known: ListCache | undefined): Promise<AliveRead> {
    const [epoch, seqText, list, infos, statuses] = (await this.#run(LIST_ALIVE, this.#keys.all, [
      this.#ttlMs,
      known?.epoch ?? '',
      known?.seq ?? 0,
    ])) as [string, string, string, string, string];
    const alive = list === '' ? [] : list.split('\n');
    const seq = Number(seqText);
    const reused = known !== undefined && epoch !== '' && epoch === known.epoch;
    const cache = reused ? known : { epoch, seq, workers: new Map<string, CachedWorker | null>() };
    // Replies come in order on one connection; still, never let an older one undo a newer one.
    if (!reused || seq > cache.seq) {
      cache.seq = seq;
      if (infos !== '') {
        const parsed = parseRegistryJson<Array<Omit<WorkerInfo, 'status' | 'lastHeartbeat'>>>(
          `[${infos.replaceAll('\n', ',')}]`,
        );
        const statusList = statuses.split(',');
        for (const [index, info] of parsed.entries()) {
          cache.workers.set(info.id, {
            incarnation: info.incarnation,
            registeredAt: info.registeredAt,
            status: statusList[index] as WorkerStatus,
            metadata: info.metadata,
            metadataJson: JSON.stringify(info.metadata),
          });
        }
      }
    }
    if (!reused) {
      for (let index = 0; index < alive.length; index += 2) {
        const id = alive[index] as string;
        if (!cache.workers.has(id)) cache.workers.set(id, null);
      }
      // No epoch: nobody registered, or data written without sequence numbers; nothing safe to keep.
      this.#listCache = epoch === '' ? undefined : cache;
    } else if (cache.workers.size > alive.length) {
      // More than twice as many entries as alive workers: drop those no longer alive. Only a new
      // registration (a change, read again) brings an id back.
      const aliveIds = new Set(alive.filter((_, index) => index % 2 === 0));
      for (const id of cache.workers.keys()) if (!aliveIds.has(id)) cache.workers.delete(id);
    }
    return { cache, alive, reused };
  }

  async #register(
    workerId: string,
    registration: { metadata: Record<string, unknown>; status: WorkerStatus; replace: boolean; reason: string },
  ): Promise<WorkerInfo> {
    const incarnation = randomUUID();
    const reply = (await this.#run(REGISTER, this.#keys.all, [
      workerId,
      incarnation,
      this.#ttlMs,
      registration.replace ? '1' : '0',
      this.#keys.events,
      registration.reason,
      JSON.stringify({ id: workerId, incarnation, metadata: registration.metadata }),
      registration.status,
      randomUUID(),
    ])) as [string, string];
    if (reply[0] !== 'OK') {
      throw new WorkerRegistryError(
        'ALREADY_REGISTERED',
        `worker '${workerId}' is registered and alive (incarnation ${reply[1]}): pass { replace: true } to take over`,
        { workerId },
      );
    }
    const worker = parseRegistryJson<WorkerInfo>(reply[1]);
    const previous = this.#local.get(workerId);
    this.#local.set(workerId, {
      incarnation,
      registeredAt: worker.registeredAt,
      metadata: registration.metadata,
      status: registration.status,
      timer: previous?.timer,
    });
    return worker;
  }

  async #beat(workerId: string): Promise<void> {
    try {
      await this.heartbeat(workerId);
    } catch (error) {
      if (!(error instanceof WorkerRegistryError)) throw error;
      if (error.code === 'REPLACED') {
        // Superseded by a newer registration of the id: this instance must not come back.
        this.#stopTimer(workerId);
        this.#local.delete(workerId);
        this.emit('replaced', workerId);
        return;
      }
      const local = this.#local.get(workerId);
      // Unregistered or closed while the heartbeat was in flight: nothing to bring back.
      if (error.code !== 'NOT_REGISTERED' || local?.timer === undefined || this.#closing !== undefined) throw error;
      // The registration is gone (FLUSHALL, restart without persistence, reaped): come back as it was.
      const worker = await this.#register(workerId, {
        metadata: local.metadata,
        status: local.status,
        replace: false,
        reason: 'recovered',
      });
      this.emit('reregistered', worker);
    }
  }

  // The hub calls this once per event, whatever the number of handlers: one parse, one error if malformed.
  readonly #onMessage = (raw: string): void => {
    let event: RegistryEvent;
    try {
      event = parseRegistryJson<RegistryEvent>(raw);
      if (typeof event.worker.id !== 'string' || !isWorkerStatus(event.worker.status))
        throw new Error('event without a complete worker');
    } catch (error) {
      this.#emitError(
        new WorkerRegistryError('MALFORMED_EVENT', `malformed registry event: ${raw.slice(0, 200)}`, { cause: error }),
      );
      return;
    }
    for (const handler of this.#handlers) {
      try {
        const result = handler(event);
        if (result instanceof Promise) result.catch((error: unknown) => this.#emitError(error));
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

  #stopTimer(workerId: string): void {
    const local = this.#local.get(workerId);
    if (local?.timer === undefined) return;
    clearInterval(local.timer);
    local.timer = undefined;
  }

  /** Runs a Lua script on the command connection. */
  #run(target: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
    return runLuaScript(this.#manager.getConnection(), target, { keys, args });
  }

  #replaced(workerId: string): WorkerRegistryError {
    return new WorkerRegistryError(
      'REPLACED',
      `worker '${workerId}' was registered again under a newer incarnation: this registration is over`,
      { workerId },
    );
  }

  #notRegistered(workerId: string): WorkerRegistryError {
    return new WorkerRegistryError(
      'NOT_REGISTERED',
      `worker '${workerId}' is not registered (unknown, reaped, past its ${this.#ttlMs} ms TTL, or registered again elsewhere): register it again`,
      { workerId },
    );
  }

  #emitError(error: unknown): void {
    emitSafely(this, 'error', toError(error));
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new WorkerRegistryError('REGISTRY_CLOSED', 'the worker registry was closed');
  }
}
