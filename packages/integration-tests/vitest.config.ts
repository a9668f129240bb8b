import { shimVitestConfig } from '../../vitest.shared.js';

export default shimVitestConfig({
  name: '@shim/integration-tests',
  // Process entry points: they run only as child processes.
  coverageExclude: ['src/swarm/worker-main.ts', 'src/start.ts', 'src/soak.ts'],
});
