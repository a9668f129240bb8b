import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countWords } from '../src/swarm/word-count.js';

describe('countWords (the npm start demo work)', () => {
  const withFile = (text: string): { dir: string; file: string } => {
    const dir = mkdtempSync(join(tmpdir(), 'shim-words-'));
    const file = join(dir, 'sample.txt');
    writeFileSync(file, text);
    return { dir, file };
  };

  it('counts the words of the task file after waiting workMs', async () => {
    const { dir, file } = withFile('  one two\tthree\n\nfour  ');
    try {
      await expect(
        countWords({ id: 't', priority: 1, workMs: 1, file }, new AbortController().signal),
      ).resolves.toEqual({ file, words: 4 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops waiting when aborted, naming the file', async () => {
    const controller = new AbortController();
    const counting = countWords({ id: 't', priority: 1, workMs: 60_000, file: 'notes.md' }, controller.signal);
    controller.abort();
    await expect(counting).rejects.toThrow('counting notes.md was interrupted');
  });

  it('refuses a task without a file before waiting', async () => {
    await expect(countWords({ id: 't', priority: 1, workMs: 60_000 }, new AbortController().signal)).rejects.toThrow(
      'task t has no file to count the words of',
    );
  });
});
