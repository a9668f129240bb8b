import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTION_OPTIONS } from './options.js';

const root = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
// Table cells, with Prettier's padding collapsed: "| `db` | `0` |".
const cells = readme.replace(/ *\| */g, ' | ');

describe('README', () => {
  it('shows, as its quick start, exactly the program CI runs against the packed tarball', () => {
    const block = /## Quick start\n\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    expect(block).toBe(readFileSync(new URL('smoke/esm.mjs', root), 'utf8'));
  });

  it('documents every default as it is in DEFAULT_CONNECTION_OPTIONS', () => {
    const { reconnect, ...top } = DEFAULT_CONNECTION_OPTIONS;
    for (const [name, value] of Object.entries(top)) {
      if (name === 'host' || name === 'port') continue;
      const shown = typeof value === 'string' ? `'${value}'` : String(value);
      expect(cells, name).toContain(`| \`${name}\` | \`${shown}\` |`);
    }
    for (const [name, value] of Object.entries(reconnect)) {
      expect(cells, name).toContain(`| \`reconnect.${name}\` | \`${value === Infinity ? 'Infinity' : value}\` |`);
    }
  });
});
