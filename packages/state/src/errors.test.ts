import { describe, expect, it } from 'vitest';
import { isStateError, LockError, StateConflictError, StateError } from './errors.js';

describe('errors', () => {
  it('carry name, code, key and cause; guards check name and code, not only instanceof', () => {
    const cause = new Error('root');
    const error = new StateError('INVALID_KEY', 'bad', { key: 'k', cause });
    expect(error).toMatchObject({ name: 'StateError', code: 'INVALID_KEY', key: 'k', cause });
    expect(new StateError('STATE_CLOSED', 'closed').cause).toBeUndefined();
    expect(isStateError(error)).toBe(true);
    expect(isStateError(error, 'INVALID_KEY')).toBe(true);
    expect(isStateError(error, 'CONFLICT')).toBe(false);
    // A copy from the other module format: same name and code, different class.
    const foreign = Object.assign(new Error('x'), { name: 'LockError', code: 'LOCK_TIMEOUT' });
    expect(isStateError(foreign, 'LOCK_TIMEOUT')).toBe(true);
    expect(isStateError(Object.assign(new Error('x'), { name: 'StateError' }))).toBe(false);
    expect(isStateError({ name: 'StateError', code: 'INVALID_KEY' })).toBe(false);
  });

  it('conflict errors say what was expected and found', () => {
    const single = new StateConflictError('k', { expectedVersion: 1, actualVersion: 2, attempts: 1 });
    expect(single.message).toMatch(/expected version 1 but found 2/);
    const storm = new StateConflictError('k', { expectedVersion: 4, actualVersion: 5, attempts: 10 });
    expect(storm.message).toMatch(/all 10 attempts/);
    expect(storm).toBeInstanceOf(StateError);
    expect(new LockError('LOCK_LOST', 'lost')).toMatchObject({ name: 'LockError', code: 'LOCK_LOST' });
  });
});
