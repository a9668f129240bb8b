import { hasRedisServerBinary, RedisServer } from './redis-server.js';

/** Where the tests' shared Redis came from. */
export type RedisSource = 'env' | 'docker' | 'binary';

/** A Redis for one test run. */
export interface ResolvedRedis {
  url: string;
  source: RedisSource;
  /** Stops what was started for the run (nothing for `REDIS_URL`). */
  stop(): Promise<void>;
}

/** One line that tells a new user how to get Redis. */
export const NO_REDIS_MESSAGE =
  'No Redis for the tests: install redis-server (apt-get install redis-server / brew install redis), which the fault tests need anyway; Docker (@testcontainers/redis, or `docker compose up -d redis` with REDIS_URL=redis://127.0.0.1:6379) can serve the other tests.';

/** Image used on the Docker path; the same as docker-compose.yml. */
export const REDIS_IMAGE = 'redis:7-alpine';

async function dockerAnswers(timeoutMs: number): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('docker probe timed out')), timeoutMs);
    });
    try {
      await Promise.race([getContainerRuntimeClient(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    return true;
  } catch {
    return false;
  }
}

/** A started container: its URL and how to stop it. */
export interface StartedRedis {
  url: string;
  stop(): Promise<void>;
}

async function startRedisContainer(): Promise<StartedRedis> {
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer(REDIS_IMAGE).start();
  return {
    url: container.getConnectionUrl(),
    stop: async () => {
      await container.stop();
    },
  };
}

/** Hooks for tests of the resolver itself. */
export interface ResolveRedisOptions {
  env?: NodeJS.ProcessEnv;
  /** Replaces the Docker probe. */
  dockerAnswers?: () => Promise<boolean>;
  /** Replaces the container start (`@testcontainers/redis`, image `redis:7-alpine`). */
  startContainer?: () => Promise<StartedRedis>;
  /** Replaces the redis-server binary probe. */
  hasBinary?: () => boolean;
}

/**
 * Finds a Redis for the tests, in this order:
 * 1. `REDIS_URL` when set;
 * 2. else, where a Docker engine answers, a `redis:7-alpine` container from `@testcontainers/redis`
 *    (set `SHIM_TEST_DOCKER=0` to skip the probe); if the container cannot start (no image, no
 *    network) and a binary exists, it falls through to 3;
 * 3. else a `redis-server` binary on PATH, spawned on a free loopback port in a temporary directory;
 * 4. else it throws one line that says how to get Redis.
 * Fault tests always need the binary: they spawn servers of their own (`RedisServer.start()`).
 */
export async function resolveRedis(options: ResolveRedisOptions = {}): Promise<ResolvedRedis> {
  const env = options.env ?? process.env;
  const url = env['REDIS_URL'];
  if (url !== undefined && url !== '') {
    return { url, source: 'env', stop: async () => {} };
  }
  const hasBinary = options.hasBinary ?? hasRedisServerBinary;
  const probeDocker = options.dockerAnswers ?? (() => dockerAnswers(5_000));
  if (env['SHIM_TEST_DOCKER'] !== '0' && (await probeDocker())) {
    try {
      const started = await (options.startContainer ?? startRedisContainer)();
      return { ...started, source: 'docker' };
    } catch (error) {
      if (!hasBinary()) throw error;
    }
  }
  if (hasBinary()) {
    const server = await RedisServer.start();
    return { url: server.url, source: 'binary', stop: () => server.close() };
  }
  throw new Error(NO_REDIS_MESSAGE);
}
