import { shimVitestConfig } from '../../vitest.shared.js';

export default shimVitestConfig({
  name: '@shim/integration-tests',
  // Most of this package's code runs inside worker child processes, where coverage is not
  // collected; its failure reporters run only when a component breaks there. The same code is
  // also run in-process (test/harness.test.ts), but not every branch: 85 here, 95 elsewhere.
  threshold: 85,
  // Process entry points: they run only as child processes.
  coverageExclude: ['src/swarm/worker-main.ts', 'src/start.ts', 'src/soak.ts'],
});
