import { describe, expect, it } from 'vitest';
import { countNamespaceKeys } from '@shim/testing';
import { isMessageBusError, MessageBusWrapper } from '../src/index.js';
import { createBus, createManager } from './helpers.js';

describe('bad input found by the integration sweep', () => {
  it('refuses options that are not an object with INVALID_OPTION', async () => {
    const manager = await createManager();
    expect(() => new MessageBusWrapper(manager, null as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: 'options must be an object, got null' }),
    );
    const bus = await createBus({}, manager);
    await expect(bus.send('w1', 1, 'fast' as never)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: 'options must be an object, got string',
    });
    expect(() => bus.inbox('w1', null as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  });

  it('refuses names with a lone surrogate (Redis would store U+FFFD, merging two names)', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    await expect(bus.send('w\uD800', {})).rejects.toSatisfy((error) => isMessageBusError(error, 'INVALID_RECIPIENT'));
    await expect(bus.publish('c\uDC00', {})).rejects.toSatisfy((error) => isMessageBusError(error, 'INVALID_CHANNEL'));
    // A well-formed pair is fine.
    await expect(bus.publish('c\uD83D\uDE00', {})).resolves.toBe(0);
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  });

  it('an inbox obtained before close() refuses to consume afterwards (BUS_CLOSED), writing nothing', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const inbox = bus.inbox('w1');
    await bus.close();
    await expect(inbox.consume(() => undefined)).rejects.toSatisfy((error) => isMessageBusError(error, 'BUS_CLOSED'));
    await expect(inbox.peek()).rejects.toSatisfy((error) => isMessageBusError(error, 'BUS_CLOSED'));
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  });
});
