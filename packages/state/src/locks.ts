import { randomBytes } from 'node:crypto';
import { runLuaScript, type LuaScript } from '@shim/connection/kit';
import { LockError } from './errors.js';
import { ACQUIRE, RELEASE, RENEW } from './internal/scripts.js';
import { assertOptions, v } from './internal/validate.js';
import { assertKey } from './keys.js';
import { integerOption } from './options.js';
import type { Lock, LockContext, LockOptions, StateContext } from './types.js';

const LOCK_MAX_DELAY_MS = 100;

interface HeldLock {
  readonly name: string;
  readonly key: string;
  readonly owner: string;
  readonly ttlMs: number;
  readonly fencingToken: number;
  readonly controller: AbortController;
  timer: NodeJS.Timeout | undefined;
  renewing: boolean;
  lastRenewedAt: number;
  releasing: Promise<boolean> | undefined;
}

const lost = (name: string): LockError =>
  new LockError('LOCK_LOST', `lock '${name}' was lost (expired or taken over) before it was released`, { key: name });

/**
 * The distributed locks of one `StateManager`: `SET NX PX` with a random owner token, renewed
 * every third of the TTL while held, fencing tokens from the scope's `fences` hash. The methods
 * are those of `StateManager`, which documents them.
 */
export class Locks {
  readonly #ctx: StateContext;
  readonly #held = new Set<HeldLock>();

  constructor(context: StateContext) {
    this.#ctx = context;
  }

  async lock(name: string, options: LockOptions): Promise<Lock> {
    this.#ctx.assertOpen();
    const checked = assertKey(name, 'lock name');
    assertOptions(options);
    const { lockTtlMs, lockWaitMs } = this.#ctx.options;
    const ttlMs = options.ttlMs === undefined ? lockTtlMs : integerOption('ttlMs', options.ttlMs, { min: 3 });
    const waitMs = options.waitMs === undefined ? lockWaitMs : integerOption('waitMs', options.waitMs, { min: 0 });
    const key = this.#ctx.keys.lock(checked);
    const owner = randomBytes(16).toString('hex');
    const deadline = Date.now() + waitMs;
    for (let attempt = 0; ; attempt += 1) {
      this.#ctx.assertOpen();
      const reply = await this.#run(ACQUIRE, [key, this.#ctx.keys.fences], [owner, ttlMs, checked]);
      const [acquired, detail] = reply as [number, number];
      if (acquired === 1) {
        const lock = this.#hold({ name: checked, key, owner, ttlMs, fencingToken: detail });
        try {
          this.#ctx.assertOpen();
          return lock;
        } catch (error) {
          // Closed while acquiring: nobody would release it.
          await lock.release();
          throw error;
        }
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const message = `lock '${checked}' is still held by someone else after ${waitMs} ms`;
        throw new LockError('LOCK_TIMEOUT', message, { key: checked });
      }
      // Jittered, growing, never past the holder's expiry or our deadline.
      const bound = Math.min(LOCK_MAX_DELAY_MS, 5 * 2 ** Math.min(attempt, 5));
      const holderLeft = detail > 0 ? detail : bound;
      const delay = Math.max(1, Math.min(remaining, holderLeft, Math.ceil(Math.random() * bound)));
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async withLock<TResult>(
    name: string,
    fn: (lock: LockContext) => TResult | Promise<TResult>,
    options: LockOptions,
  ): Promise<TResult> {
    if (typeof fn !== 'function') v.fail('INVALID_ARGUMENT', 'fn', `fn must be a function, got ${typeof fn}`);
    const lock = await this.lock(name, options);
    let outcome: { ok: true; value: TResult } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await fn({ fencingToken: lock.fencingToken, signal: lock.signal }) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    // A release that fails (Redis down) leaves the lock to its TTL: not a reason to fail the work.
    const released = await lock.release().catch((error: unknown) => {
      this.#ctx.reportError(error);
      return true;
    });
    if (!outcome.ok) throw outcome.error;
    if (!released || lock.signal.aborted) throw lost(lock.name);
    return outcome.value;
  }

  /** Releases every lock held (best effort: a lock that cannot be released expires with its TTL). */
  async close(): Promise<void> {
    await Promise.all([...this.#held].map((held) => this.#release(held).catch(() => false)));
  }

  // Async so that a closed manager (getConnection() throws) rejects instead of throwing in a timer callback.
  async #run(script: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
    return runLuaScript(this.#ctx.redis(), script, { keys, args });
  }

  #hold(grant: Pick<HeldLock, 'name' | 'key' | 'owner' | 'ttlMs' | 'fencingToken'>): Lock {
    const held: HeldLock = {
      ...grant,
      controller: new AbortController(),
      timer: undefined,
      renewing: false,
      lastRenewedAt: Date.now(),
      releasing: undefined,
    };
    held.timer = setInterval(
      () => {
        this.#renew(held);
      },
      Math.max(1, Math.floor(held.ttlMs / 3)),
    );
    held.timer.unref();
    this.#held.add(held);
    return {
      name: held.name,
      fencingToken: held.fencingToken,
      signal: held.controller.signal,
      release: () => this.#release(held),
    };
  }

  #renew(held: HeldLock): void {
    if (held.renewing) return;
    held.renewing = true;
    const startedAt = Date.now();
    this.#run(RENEW, [held.key], [held.owner, held.ttlMs])
      .then(
        (renewed) => {
          if (renewed === 1) held.lastRenewedAt = startedAt;
          else this.#lose(held);
        },
        (error: unknown) => {
          this.#ctx.reportError(error);
          // Without a renewal for a whole TTL, Redis has let the lock go: stop believing in it.
          if (Date.now() - held.lastRenewedAt >= held.ttlMs) this.#lose(held);
        },
      )
      .finally(() => {
        held.renewing = false;
      });
  }

  #lose(held: HeldLock): void {
    if (held.releasing !== undefined || held.controller.signal.aborted) return;
    clearInterval(held.timer);
    this.#held.delete(held);
    held.controller.abort(lost(held.name));
    this.#ctx.emit('lockLost', { name: held.name, fencingToken: held.fencingToken });
  }

  #release(held: HeldLock): Promise<boolean> {
    held.releasing ??= (async () => {
      clearInterval(held.timer);
      this.#held.delete(held);
      return (await this.#run(RELEASE, [held.key], [held.owner])) === 1;
    })();
    return held.releasing;
  }
}
