import { describe, expect, it } from 'vitest';
import { countNamespaceKeys } from '@shim/testing';
import { isWorkerRegistryError, WorkerRegistry } from '../src/index.js';
import { createManager, createRegistry } from './helpers.js';

const invalidOption = (message: string) => (error: unknown) =>
  isWorkerRegistryError(error, 'INVALID_OPTION') && (error as Error).message === message;

describe('options that are not objects (found by the integration bad-input sweep)', () => {
  it('are refused with INVALID_OPTION naming the argument, writing nothing', async () => {
    const manager = await createManager();
    expect(() => new WorkerRegistry(manager, null as never)).toThrow(/options must be an object, got null/);
    const registry = await createRegistry({}, manager);
    await expect(registry.registerWorker('w1', {}, null as never)).rejects.toSatisfy(
      invalidOption('options must be an object, got null'),
    );
    await expect(registry.heartbeat('w1', 5 as never)).rejects.toSatisfy(
      invalidOption('options must be an object, got number'),
    );
    await expect(registry.listActive(null as never)).rejects.toSatisfy(
      invalidOption('filter must be an object, got null'),
    );
    expect(() => registry.startHeartbeat('w1', undefined as never)).toThrow(
      'options { intervalMs } must be an object, got undefined',
    );
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  });
});
