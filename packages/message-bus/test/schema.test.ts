import { describe, expect, expectTypeOf, it } from 'vitest';
import * as v from 'valibot';
import { z } from 'zod';
import { collect, waitFor } from '@shim/testing';
import { isMessageBusError, type InvalidMessageEvent, type MessageMeta } from '../src/index.js';
import { createBus, createManager } from './helpers.js';

const Progress = z.object({ task: z.string(), percent: z.number().min(0).max(100) });

describe('typed channels (Standard Schema)', () => {
  it('infers types from a zod schema and delivers valid messages', async () => {
    const bus = await createBus();
    const progress = bus.channel('task.progress', Progress);
    expect(progress.name).toBe('task.progress');
    expect(progress.schema).toBe(Progress);
    const got = collect<{ task: string; percent: number }>(1);
    await progress.subscribe((message, meta) => {
      expectTypeOf(message).toEqualTypeOf<{ task: string; percent: number }>();
      expectTypeOf(meta).toEqualTypeOf<MessageMeta>();
      got.push(message);
    });
    expectTypeOf<Parameters<typeof progress.publish>[0]>().toEqualTypeOf<{ task: string; percent: number }>();
    expect(await progress.publish({ task: 't1', percent: 40 })).toBe(1);
    expect(await got.done).toEqual([{ task: 't1', percent: 40 }]);
  });

  it('throws a clear validation error on publish and sends nothing', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const progress = bus.channel('task.progress', Progress);
    const raw: string[] = [];
    const spy = await manager.createConnection('subscriber');
    spy.on('message', (_channel: string, message: string) => void raw.push(message));
    await spy.subscribe(`${manager.namespace}:bus:ch:task.progress`);
    const error = await progress.publish({ task: 't1', percent: 140 }).catch((e: unknown) => e as Error);
    expect(isMessageBusError(error, 'VALIDATION_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/task\.progress/);
    expect((error as Error).message).toMatch(/percent/);
    expect((error as unknown as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
    await bus.publish('task.progress', { task: 'ok', percent: 1 });
    await waitFor(() => raw.length === 1);
    expect(raw).toHaveLength(1);
    await manager.releaseConnection(spy);
  });

  it('never hands an invalid message to a typed handler, reporting it as invalid-message', async () => {
    const bus = await createBus();
    const progress = bus.channel('task.progress', Progress);
    const invalid = collect<InvalidMessageEvent>(1);
    bus.on('invalid-message', (event) => invalid.push(event));
    const handled: unknown[] = [];
    const untyped = collect<unknown>(2);
    await progress.subscribe((message) => void handled.push(message));
    await bus.subscribe('task.progress', (message) => untyped.push(message));
    await bus.publish('task.progress', { task: 't1', percent: 'fifty' });
    await bus.publish('task.progress', { task: 't1', percent: 50 });
    const [event] = await invalid.done;
    expect(event?.channel).toBe('task.progress');
    expect(event?.reason).toMatch(/^schema: percent/);
    await untyped.done;
    await waitFor(() => handled.length === 1);
    expect(handled).toEqual([{ task: 't1', percent: 50 }]);
  });

  it('works with valibot and with async validators, and applies transforms on receipt', async () => {
    const bus = await createBus();
    const events = bus.channel('file.edit', v.object({ path: v.pipe(v.string(), v.minLength(1)), by: v.string() }));
    const gotEvents = collect<{ path: string; by: string }>(1);
    await events.subscribe((message) => gotEvents.push(message));
    await expect(events.publish({ path: '', by: 'w1' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await events.publish({ path: 'src/a.ts', by: 'w1' });
    expect(await gotEvents.done).toEqual([{ path: 'src/a.ts', by: 'w1' }]);

    const slow = bus.channel(
      'slow',
      z
        .object({ n: z.number() })
        .refine(async (value) => Promise.resolve(value.n > 0), 'n must be positive')
        .transform((value) => ({ ...value, double: value.n * 2 })),
    );
    const gotSlow = collect<{ n: number; double: number }>(1);
    await slow.subscribe((message) => gotSlow.push(message));
    await expect(slow.publish({ n: -1 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await slow.publish({ n: 2 });
    expect(await gotSlow.done).toEqual([{ n: 2, double: 4 }]);
  });

  it('reports a validator that throws on receipt as invalid-message', async () => {
    const bus = await createBus();
    const exploding = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: (value: unknown) => {
          if ((value as { boom?: boolean }).boom === true) throw new Error('validator exploded');
          return { value };
        },
      },
    };
    const channel = bus.channel('boom', exploding);
    const invalid = collect<InvalidMessageEvent>(1);
    bus.on('invalid-message', (event) => invalid.push(event));
    await channel.subscribe(() => {});
    await bus.publish('boom', { boom: true });
    expect((await invalid.done)[0]?.reason).toMatch(/validator threw/);
    await expect(channel.publish({ boom: true })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('rejects something that is not a Standard Schema', async () => {
    const bus = await createBus();
    expect(() => bus.channel('x', {} as never)).toThrow(/Standard Schema/);
    expect(() => bus.channel('', Progress)).toThrow(/channel/);
  });

  it('unsubscribes a typed handler', async () => {
    const bus = await createBus();
    const progress = bus.channel('p', Progress);
    const handler = (): void => {};
    await progress.subscribe(handler);
    await progress.unsubscribe(handler);
    expect(await bus.publish('p', { task: 'x', percent: 1 })).toBe(0);
    await progress.subscribe(handler);
    await progress.unsubscribe();
    expect(await bus.publish('p', { task: 'x', percent: 1 })).toBe(0);
  });
});
