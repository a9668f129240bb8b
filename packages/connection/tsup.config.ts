import { defineConfig } from 'tsup';
import { baseTsupConfig } from '../../tsup.config.base.js';

export default defineConfig({
  ...baseTsupConfig,
  entry: ['src/index.ts', 'src/kit.ts'],
});
