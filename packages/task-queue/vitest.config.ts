import { shimVitestConfig } from '../../vitest.shared.js';

export default shimVitestConfig({ name: '@shim/task-queue' });
