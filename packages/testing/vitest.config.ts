import { mergeConfig } from 'vitest/config';
import { shimVitestConfig } from '../../vitest.shared.js';

// Private test tooling, never published. Held to 90% rather than 95%: its Docker branch
// (@testcontainers/redis) cannot run where no Docker engine answers, as on our CI machine.
export default mergeConfig(shimVitestConfig({ name: '@shim/testing', threshold: 90 }), {
  test: {
    coverage: {
      // global-setup.ts runs in vitest's main process, where worker coverage cannot see it (every run uses it);
      // vitest-context.ts and index.ts hold only types and re-exports.
      exclude: ['src/global-setup.ts', 'src/vitest-context.ts', 'src/index.ts'],
    },
  },
});
