import { fileURLToPath } from 'node:url';
import { defineConfig, type ViteUserConfig } from 'vitest/config';

const globalSetup = fileURLToPath(new URL('./packages/testing/src/global-setup.ts', import.meta.url));

/** Options of {@link shimVitestConfig}. */
export interface ShimVitestOptions {
  /** Package name, shown in the test output. */
  name: string;
  /** Coverage threshold for lines, branches, functions and statements. Unit: %. @defaultValue 95 */
  threshold?: number;
  /** More files left out of coverage: entry points that only ever run as child processes (v8 coverage sees only the test process). */
  coverageExclude?: string[];
}

/**
 * The vitest config every package uses: real Redis through `@shim/testing`'s global setup
 * (`inject('redisUrl')`), sibling packages resolved to their sources, v8 coverage with enforced
 * thresholds.
 */
export function shimVitestConfig({ name, threshold = 95, coverageExclude = [] }: ShimVitestOptions): ViteUserConfig {
  return defineConfig({
    resolve: { conditions: ['@shim/source'] },
    ssr: { resolve: { conditions: ['@shim/source'] } },
    test: {
      name,
      globals: false,
      restoreMocks: true,
      globalSetup: [globalSetup],
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      coverage: {
        provider: 'v8',
        include: ['src/**/*.ts'],
        exclude: ['src/**/*.test.ts', 'src/**/*.test-d.ts', ...coverageExclude],
        reporter: ['text-summary', 'text'],
        thresholds: { lines: threshold, branches: threshold, functions: threshold, statements: threshold },
      },
    },
  });
}
