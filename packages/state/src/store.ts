import { runLuaScript, type LuaScript } from '@shim/connection/kit';
import { StateConflictError, StateError } from './errors.js';
import { DELETE, DUE, EXPIRE, GET, INCREMENT, MERGE, SET } from './internal/scripts.js';
import { assertOptions, encodeValue, parseJson } from './internal/validate.js';
import { assertKey, assertPrefix, escapeGlob } from './keys.js';
import { integerOption, writerOption } from './options.js';
import type {
  AtomicUpdateOptions,
  CleanupOptions,
  DeleteOptions,
  IncrementOptions,
  KeyedStateEntry,
  ServerUpdateOptions,
  SetOptions,
  SetResult,
  StateContext,
  StateEntry,
} from './types.js';

const CLEANUP_BATCH = 500;
const CLEANUP_MAX_BATCHES = 20;
const LIST_BATCH = 500;
const ENTRY_FIELDS = ['value', 'version', 'updatedAt', 'writer', 'expiresAt'] as const;

/** The value of one pipeline reply, or its error thrown. */
function replyOf<T>(reply: [Error | null, unknown] | undefined): T {
  const [error, value] = reply as [Error | null, unknown];
  if (error !== null) throw error;
  return value as T;
}

/**
 * The entries of one scope: reads, the write scripts, listing and cleanup (with its timer). The
 * methods are those of `StateManager`, which documents them.
 */
export class Store {
  readonly #ctx: StateContext;
  readonly #writerJson: string;
  readonly #cleanupTimer: NodeJS.Timeout | undefined;
  #cleaning = false;

  constructor(context: StateContext) {
    this.#ctx = context;
    const { writer, cleanupIntervalMs } = context.options;
    this.#writerJson = writer === undefined ? '' : JSON.stringify(writer);
    if (cleanupIntervalMs > 0) {
      this.#cleanupTimer = setInterval(() => {
        this.#autoCleanup();
      }, cleanupIntervalMs);
      this.#cleanupTimer.unref();
    }
  }

  /** Stops the cleanup timer. */
  close(): void {
    clearInterval(this.#cleanupTimer);
  }

  async get<TValue>(key: string): Promise<TValue | undefined> {
    const checked = this.#begin(key);
    // The hot path: two fields, no script, unless the entry has a TTL.
    const [value, expiresAt] = (await this.#ctx.redis().hmget(this.#ctx.keys.entry(checked), 'value', 'expiresAt')) as [
      string | null,
      string | null,
    ];
    if (value === null) return undefined;
    const live = expiresAt === null ? value : (await this.#live(checked))?.[0];
    return live === undefined ? undefined : parseJson<TValue>(live as string, checked);
  }

  async getEntry<TValue>(key: string): Promise<StateEntry<TValue> | undefined> {
    const checked = this.#begin(key);
    const fields = await this.#ctx.redis().hmget(this.#ctx.keys.entry(checked), ...ENTRY_FIELDS);
    const live = fields[0] === null || fields[4] === null ? fields : await this.#live(checked);
    return live === undefined || live[0] === null ? undefined : this.#entry<TValue>(checked, live);
  }

  async set(key: string, value: unknown, options: SetOptions): Promise<SetResult> {
    const checked = this.#begin(key, options);
    const json = encodeValue(value, this.#ctx.options.maxValueBytes);
    const ttl = this.#ttl(options.ttlMs);
    const ifVersion =
      options.ifVersion === undefined
        ? ''
        : integerOption('ifVersion', options.ifVersion, { min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'versions' });
    const timestamp = this.#timestamp(options.timestamp);
    const writer = this.#writer(options.writer);
    const args = [json, ifVersion, ttl, timestamp, writer];
    // { version, now } when written, else { 'CONFLICT' | 'STALE', version, … }.
    const reply = (await this.#entryScript(SET, checked, args)) as [number | string, number, number];
    if (typeof reply[0] === 'number') return { version: reply[0], applied: true, updatedAt: reply[1] };
    if (reply[0] === 'CONFLICT') {
      throw new StateConflictError(checked, {
        expectedVersion: Number(ifVersion),
        actualVersion: reply[1],
        attempts: 1,
      });
    }
    // STALE: the entry carries a newer timestamp than the write.
    return { version: reply[1], applied: false, updatedAt: reply[2] };
  }

  async delete(key: string, options: DeleteOptions): Promise<boolean> {
    const checked = this.#begin(key, options);
    const timestamp = this.#timestamp(options.timestamp);
    return ((await this.#entryScript(DELETE, checked, [timestamp])) as number) === 1;
  }

  async atomicUpdate<TValue>(
    key: string,
    updater: (current: TValue | undefined) => TValue | Promise<TValue>,
    options: AtomicUpdateOptions,
  ): Promise<{ value: TValue; version: number }> {
    const checked = this.#begin(key, options);
    if (typeof updater !== 'function') {
      throw new StateError('INVALID_ARGUMENT', `updater must be a function, got ${typeof updater}`, { key: checked });
    }
    const ttl = this.#ttl(options.ttlMs);
    const { maxAttempts: defaultAttempts, maxValueBytes, retryBaseDelayMs, retryMaxDelayMs } = this.#ctx.options;
    const maxAttempts =
      options.maxAttempts === undefined
        ? defaultAttempts
        : integerOption('maxAttempts', options.maxAttempts, { unit: 'attempts', max: 1e6 });
    const writer = this.#writer(options.writer);
    const entry = await this.getEntry(checked);
    let version = entry?.version ?? 0;
    let current: unknown = entry?.value;
    for (let attempt = 1; ; attempt += 1) {
      const next = await updater(current as TValue | undefined);
      const json = encodeValue(next, maxValueBytes, 'the updater result');
      this.#ctx.assertOpen();
      const args = [json, version, ttl, '', writer, '1'];
      const reply = (await this.#entryScript(SET, checked, args)) as [number | string, number, string | undefined];
      if (typeof reply[0] === 'number') return { value: next, version: reply[0] };
      if (attempt >= maxAttempts) {
        throw new StateConflictError(checked, { expectedVersion: version, actualVersion: reply[1], attempts: attempt });
      }
      const bound = Math.min(retryMaxDelayMs, retryBaseDelayMs * 2 ** (attempt - 1));
      const delay = Math.floor(Math.random() * (bound + 1));
      if (delay === 0) {
        // The conflict reply carries the current entry: an immediate retry needs no read.
        version = reply[1];
        current = reply[2] === undefined ? undefined : parseJson(reply[2], checked);
      } else {
        // After a wait that entry is likely stale again: read afresh.
        await new Promise((resolve) => setTimeout(resolve, delay));
        const fresh = await this.getEntry(checked);
        version = fresh?.version ?? 0;
        current = fresh?.value;
      }
    }
  }

  async increment(key: string, by: number, options: IncrementOptions): Promise<{ value: number; version: number }> {
    const checked = this.#begin(key, options);
    if (typeof by !== 'number' || !Number.isSafeInteger(by)) {
      throw new StateError('INVALID_ARGUMENT', `increment must be a safe integer, got ${String(by)}`, { key: checked });
    }
    let field = '';
    if (options.field !== undefined) {
      const name = assertKey(options.field, 'field');
      if (name === '__proto__') throw new StateError('INVALID_KEY', "field must not be '__proto__'", { key: checked });
      field = JSON.stringify(name);
    }
    const { version, text } = await this.#serverUpdate(checked, options, { script: INCREMENT, args: [by, field] });
    const result = parseJson<unknown>(text, checked);
    const value = options.field === undefined ? result : (result as Record<string, unknown>)[options.field];
    return { value: value as number, version };
  }

  async merge<TValue>(
    key: string,
    patch: Record<string, unknown>,
    options: ServerUpdateOptions,
  ): Promise<{ value: TValue; version: number }> {
    const checked = this.#begin(key, options);
    const proto = typeof patch === 'object' && patch !== null ? (Object.getPrototypeOf(patch) as unknown) : undefined;
    if (proto !== Object.prototype && proto !== null) {
      throw new StateError('INVALID_VALUE', 'patch must be a plain object', { key: checked });
    }
    const entries = Object.entries(patch);
    // Validates the patch (and its size) the way a set would; undefined members mean "remove".
    const defined = Object.fromEntries(entries.filter(([, value]) => value !== undefined));
    encodeValue(defined, this.#ctx.options.maxValueBytes, 'patch');
    const pairs: string[] = [];
    for (const [name, value] of entries) {
      pairs.push(JSON.stringify(name), value === undefined ? '' : JSON.stringify(value));
    }
    const { version, text } = await this.#serverUpdate(checked, options, { script: MERGE, args: pairs });
    return { value: parseJson<TValue>(text, checked), version };
  }

  /** Live entries under `prefix`, sorted by key; with `withValues` false, only their keys. */
  async list(prefix: string, withValues: boolean): Promise<KeyedStateEntry[]> {
    this.#ctx.assertOpen();
    const checked = assertPrefix(prefix);
    const { keys: names } = this.#ctx;
    const redis = this.#ctx.redis();
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, items] = await redis.zscan(names.index, cursor, 'MATCH', `${escapeGlob(checked)}*`, 'COUNT', 1000);
      cursor = next;
      // ZSCAN replies member, score, member, score…
      for (let index = 0; index < items.length; index += 2) found.add(items[index] as string);
    } while (cursor !== '0');
    const keys = [...found].sort();
    const entries: KeyedStateEntry[] = [];
    for (let start = 0; start < keys.length; start += LIST_BATCH) {
      const batch = keys.slice(start, start + LIST_BATCH);
      const pipeline = redis.pipeline();
      for (const key of batch) {
        if (withValues) pipeline.hmget(names.entry(key), ...ENTRY_FIELDS);
        else pipeline.hmget(names.entry(key), 'version', 'version', 'version', 'version', 'expiresAt');
      }
      pipeline.time();
      const replies = (await pipeline.exec()) as Array<[Error | null, unknown]>;
      const [seconds, micros] = replyOf<[string, string]>(replies[batch.length]);
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      for (const [index, key] of batch.entries()) {
        const row = replyOf<Array<string | null>>(replies[index]);
        // Absent (removed since the scan) or past its expiry: not listed.
        if (row[1] === null || (row[4] !== null && Number(row[4]) <= now)) continue;
        entries.push(withValues ? { key, ...this.#entry(key, row) } : ({ key } as KeyedStateEntry));
      }
    }
    return entries;
  }

  async cleanup(options: CleanupOptions): Promise<string[]> {
    this.#ctx.assertOpen();
    assertOptions(options);
    const maxIdleMs =
      options.maxIdleMs === undefined
        ? this.#ctx.options.maxIdleMs
        : integerOption('maxIdleMs', options.maxIdleMs, { max: Number.MAX_SAFE_INTEGER });
    const removed = await this.#sweep(this.#ctx.keys.expiries, 0, '');
    if (maxIdleMs !== undefined) removed.push(...(await this.#sweep(this.#ctx.keys.index, maxIdleMs, maxIdleMs)));
    return removed;
  }

  /** The checks every call starts with: the manager is open, `key` a valid key, `options` an object. */
  #begin(key: string, options: object = {}): string {
    this.#ctx.assertOpen();
    const checked = assertKey(key);
    assertOptions(options);
    return checked;
  }

  /** The live fields of an entry with a TTL (the script compares its expiry with Redis' clock and reports an expired one). */
  async #live(key: string): Promise<Array<string | null> | undefined> {
    const live = (await this.#entryScript(GET, key, [])) as string[] | null;
    return live?.map((field) => (field === '' ? null : field));
  }

  /** Runs an entry script: KEYS entry, index, expiries; ARGV key, its change channel, then `args`. */
  #entryScript(target: LuaScript, key: string, args: Array<string | number>): Promise<unknown> {
    // Called from async methods only (a throwing getConnection() rejects their promise): no extra async frame.
    const { keys } = this.#ctx;
    args.unshift(key, keys.channel(key));
    return runLuaScript(this.#ctx.redis(), target, { keys: [keys.entry(key), keys.index, keys.expiries], args });
  }

  async #serverUpdate(
    key: string,
    options: ServerUpdateOptions,
    operation: { script: LuaScript; args: Array<string | number> },
  ): Promise<{ version: number; text: string }> {
    const target = operation.script;
    const maxBytes = this.#ctx.options.maxValueBytes;
    const args = [this.#ttl(options.ttlMs), this.#writer(options.writer), maxBytes, ...operation.args];
    // { version, value JSON } when written, else { 'TYPE_MISMATCH', reason } or { 'TOO_LARGE', bytes }.
    const reply = (await this.#entryScript(target, key, args)) as [number | string, string | number];
    if (typeof reply[0] === 'number') return { version: reply[0], text: reply[1] as string };
    if (reply[0] === 'TYPE_MISMATCH') {
      const verb = target === INCREMENT ? 'incr' : 'merge';
      throw new StateError('TYPE_MISMATCH', `cannot ${verb} '${key}': ${String(reply[1])}; nothing was written`, {
        key,
      });
    }
    // TOO_LARGE, the only other reply.
    throw new StateError(
      'VALUE_TOO_LARGE',
      `the merged value of '${key}' would be ${String(reply[1])} bytes, over the limit of ${maxBytes} (option maxValueBytes); nothing was written`,
      { key },
    );
  }

  /** Builds an entry from HMGET fields: value, version, updatedAt, writer, expiresAt. */
  #entry<TValue>(key: string, fields: Array<string | null>): StateEntry<TValue> {
    const [value, version, updatedAt, writer, expiresAt] = fields;
    const entry: StateEntry<TValue> = {
      value: parseJson<TValue>(value as string, key),
      version: Number(version),
      updatedAt: Number(updatedAt),
    };
    if (writer !== null && writer !== undefined) entry.writer = parseJson<string>(writer, key);
    if (expiresAt !== null && expiresAt !== undefined) entry.expiresAt = Number(expiresAt);
    return entry;
  }

  /** Removes due members of `zset` (see the EXPIRE script), in batches; returns their keys. */
  async #sweep(zset: string, age: number, maxIdle: number | ''): Promise<string[]> {
    const removed: string[] = [];
    for (let batch = 0; batch < CLEANUP_MAX_BATCHES; batch += 1) {
      const due = (await runLuaScript(this.#ctx.redis(), DUE, {
        keys: [zset],
        args: [age, CLEANUP_BATCH],
      })) as string[];
      const results = await Promise.all(due.map((key) => this.#entryScript(EXPIRE, key, [maxIdle])));
      for (const [index, result] of results.entries()) if (result === 1) removed.push(due[index] as string);
      if (due.length < CLEANUP_BATCH) break;
    }
    return removed;
  }

  #autoCleanup(): void {
    // A slow Redis must not stack cleanups up; a manager not connected (yet, or any more) has nothing to clean.
    if (this.#cleaning || this.#ctx.manager.state !== 'connected') return;
    this.#cleaning = true;
    this.cleanup({})
      .catch((error: unknown) => {
        this.#ctx.reportError(error);
      })
      .finally(() => {
        this.#cleaning = false;
      });
  }

  #ttl(ttlMs: number | undefined): number | '' {
    return ttlMs === undefined ? '' : integerOption('ttlMs', ttlMs, { max: Number.MAX_SAFE_INTEGER / 4 });
  }

  #timestamp(timestamp: number | undefined): number | '' {
    return timestamp === undefined
      ? ''
      : integerOption('timestamp', timestamp, { min: 0, max: Number.MAX_SAFE_INTEGER / 4, unit: 'ms since epoch' });
  }

  #writer(writer: string | undefined): string {
    return writer === undefined ? this.#writerJson : JSON.stringify(writerOption(writer));
  }
}
