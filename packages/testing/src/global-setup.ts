import type { TestProject } from 'vitest/node';
import { resolveRedis } from './resolve-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the Redis every test of this run shares (each test under its own namespace). */
    redisUrl: string;
  }
}

/** Vitest global setup: finds one Redis for the run and provides its URL as `inject('redisUrl')`. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await resolveRedis();
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}
