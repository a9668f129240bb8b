import { readFile } from 'node:fs/promises';
import type { SwarmTask } from './protocol.js';

/** The demo's real work: counts the words of `task.file` (after waiting `task.workMs`, so the live view has something to show). */
export async function countWords(task: SwarmTask, signal: AbortSignal): Promise<{ file: string; words: number }> {
  const { file } = task;
  if (file === undefined) throw new Error(`task ${task.id} has no file to count the words of`);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, task.workMs);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new Error(`counting ${file} was interrupted`));
    });
  });
  const text = await readFile(file, 'utf8');
  return { file, words: text.split(/\s+/).filter(Boolean).length };
}
