import { describe, expect, it } from 'vitest';
import { countNamespaceKeys } from '@shim/testing';
import { isStateError } from '../src/index.js';
import { createManager, createState } from './helpers.js';

describe('options that are not objects (found by the integration bad-input sweep)', () => {
  it('are refused with INVALID_OPTION by every method that takes options, writing nothing', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const refused = (error: unknown) =>
      isStateError(error, 'INVALID_OPTION') &&
      /^options must be an object, got (null|number)$/.test((error as Error).message);
    const calls: Array<() => Promise<unknown>> = [
      () => state.set('k', 1, null as never),
      () => state.delete('k', null as never),
      () => state.atomicUpdate('k', () => 1, null as never),
      () => state.increment('k', 1, null as never),
      () => state.merge('k', { a: 1 }, 7 as never),
      () => state.cleanup(null as never),
      () => state.lock('l', null as never),
      () => state.withLock('l', () => 1, null as never),
    ];
    for (const call of calls) await expect(call()).rejects.toSatisfy(refused);
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  });
});
