import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

describe('README', () => {
  it('shows, as its quick start, exactly the program CI runs against the packed tarballs', () => {
    const block = /## Quick start\n\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(readFileSync(new URL('smoke/esm.mjs', root), 'utf8'));
  });
});
