// Types what the global setup provides, for `inject('redisUrl')` in every package's tests.
import type {} from 'vitest';
declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the Redis every test of this run shares (each test under its own namespace). */
    redisUrl: string;
  }
}

export {};
