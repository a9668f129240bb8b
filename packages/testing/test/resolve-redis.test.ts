import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { NO_REDIS_MESSAGE, resolveRedis } from '../src/index.js';

describe('resolveRedis', () => {
  it('uses REDIS_URL first, without probing anything', async () => {
    let probed = false;
    const redis = await resolveRedis({
      env: { REDIS_URL: 'redis://example:6379' },
      dockerAnswers: () => {
        probed = true;
        return Promise.resolve(true);
      },
    });
    expect(redis).toMatchObject({ url: 'redis://example:6379', source: 'env' });
    expect(probed).toBe(false);
    await redis.stop();
  });

  it('falls back to a spawned redis-server when Docker does not answer', async () => {
    const redis = await resolveRedis({ env: {}, dockerAnswers: () => Promise.resolve(false) });
    try {
      expect(redis.source).toBe('binary');
      const client = new Redis(redis.url);
      expect(await client.ping()).toBe('PONG');
      client.disconnect();
    } finally {
      await redis.stop();
    }
  });

  it('skips the Docker probe when SHIM_TEST_DOCKER=0', async () => {
    let probed = false;
    const redis = await resolveRedis({
      env: { SHIM_TEST_DOCKER: '0' },
      dockerAnswers: () => {
        probed = true;
        return Promise.resolve(true);
      },
    });
    await redis.stop();
    expect(probed).toBe(false);
    expect(redis.source).toBe('binary');
  });

  it('probes the real Docker engine (none answers on this kind of machine) and still finds Redis', async () => {
    const redis = await resolveRedis({ env: {} });
    await redis.stop();
    expect(['docker', 'binary']).toContain(redis.source);
  });

  it('fails with one line that says how to get Redis when there is none', async () => {
    await expect(
      resolveRedis({ env: {}, dockerAnswers: () => Promise.resolve(false), hasBinary: () => false }),
    ).rejects.toThrow(NO_REDIS_MESSAGE);
    expect(NO_REDIS_MESSAGE).not.toContain('\n');
    expect(NO_REDIS_MESSAGE).toMatch(/REDIS_URL/);
    expect(NO_REDIS_MESSAGE).toMatch(/docker compose up -d redis/);
    expect(NO_REDIS_MESSAGE).toMatch(/apt-get install redis-server/);
    expect(NO_REDIS_MESSAGE).toMatch(/fault tests/);
  });

  it('uses a container where Docker answers', async () => {
    let stopped = false;
    const redis = await resolveRedis({
      env: {},
      dockerAnswers: () => Promise.resolve(true),
      startContainer: () =>
        Promise.resolve({
          url: 'redis://container:6379',
          stop: () => {
            stopped = true;
            return Promise.resolve();
          },
        }),
    });
    expect(redis).toMatchObject({ url: 'redis://container:6379', source: 'docker' });
    await redis.stop();
    expect(stopped).toBe(true);
  });

  it('falls back to the binary when Docker answers but the container cannot start', async () => {
    const redis = await resolveRedis({
      env: {},
      dockerAnswers: () => Promise.resolve(true),
      startContainer: () => Promise.reject(new Error('pull rate limit')),
    });
    await redis.stop();
    expect(redis.source).toBe('binary');
    await expect(
      resolveRedis({
        env: {},
        dockerAnswers: () => Promise.resolve(true),
        startContainer: () => Promise.reject(new Error('pull rate limit')),
        hasBinary: () => false,
      }),
    ).rejects.toThrow('pull rate limit');
  });
});
