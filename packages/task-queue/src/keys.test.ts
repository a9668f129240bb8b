import { describe, expect, it } from 'vitest';
import { queueNameProblem, queueNames } from './keys.js';

describe('queueNameProblem', () => {
  it.each(['tasks', 'a', 'team.reviews-2', 'x'.repeat(200)])('accepts %s', (name) => {
    expect(queueNameProblem(name)).toBeUndefined();
  });

  it.each([
    [42, 'expected a string, got number'],
    ['', 'expected 1 to 200 characters, got 0'],
    ['x'.repeat(201), 'expected 1 to 200 characters, got 201'],
    ['a b', 'printable ASCII'],
    ['a\nb', 'printable ASCII'],
    ['a:b', "':'"],
    ['{a}', "':'"],
    ['tasks.dead-letter', 'reserved for dead-letter queues'],
  ])('refuses %j', (name, problem) => {
    expect(queueNameProblem(name)).toContain(problem);
  });
});

describe('queueNames', () => {
  it('uses the namespace as the BullMQ prefix and hash-tags each queue name', () => {
    expect(queueNames('team-a', 'tasks')).toEqual({
      prefix: 'team-a',
      main: '{tasks}',
      deadLetter: '{tasks.dead-letter}',
    });
  });
});
