import type { Options } from 'tsup';

/**
 * The one dual-format build every publishable package shares: ESM (`.js`) and
 * CJS (`.cjs`), each with its own declaration file, so `import` and `require`
 * users both get correct types (checked by attw in `check-package`).
 */
export const baseTsupConfig: Options = {
  format: ['esm', 'cjs'],
  target: 'node20',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: false,
  treeshake: true,
  outDir: 'dist',
  // Peer dependencies (ioredis, @shim/*) must stay external so the user's single copy is shared.
  skipNodeModulesBundle: true,
};
