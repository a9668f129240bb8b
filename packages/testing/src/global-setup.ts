import type { TestProject } from 'vitest/node';
import { resolveRedis } from './resolve-redis.js';
export type {} from './vitest-context.js';

/** Vitest global setup: finds one Redis for the run and provides its URL as `inject('redisUrl')`. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await resolveRedis();
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}
