/** Names and shapes shared by the supervisor and the workers of the demo swarm. */

/** The task queue every swarm worker takes from. */
export const TASK_QUEUE = 'swarm-tasks';
/** Pub/Sub channel for progress reports (at-most-once: for watching, not for counting). */
export const PROGRESS_CHANNEL = 'swarm.progress';
/** State key prefix of task records. */
export const TASK_PREFIX = 'task:';

/** One unit of work handed out by the supervisor. */
export interface SwarmTask {
  /** Unique id, also the job id (so adding it twice queues it once). */
  id: string;
  /** 1 (most urgent) … */
  priority: number;
  /** Time the task takes. Unit: ms. */
  workMs: number;
  /** A resource only one task may use at a time (taken with a distributed lock). */
  resource?: string | undefined;
  /** A file whose words to count (the `npm start` demo). */
  file?: string | undefined;
}

/** What a worker records in shared state for a finished task (atomically, with atomicUpdate). */
export interface TaskRecord {
  /** How many times a handler finished this task: 1, or more after a worker died mid-task. */
  runs: number;
  /** The worker that finished it last. */
  worker: string;
  /** Every worker that finished it, in order (more than one after a rerun). */
  workers: string[];
  /** Order in which tasks were started, across the swarm (a shared counter). */
  startSeq: number;
  /** What the task produced. */
  result: unknown;
}

/** What a worker publishes on {@link PROGRESS_CHANNEL}. */
export interface ProgressMessage {
  task: string;
  worker: string;
  percent: number;
}

/** The state key of a task's record. */
export const taskKey = (id: string): string => `${TASK_PREFIX}${id}`;
/** The state key of the holder mark of a resource (who is inside its lock). */
export const holderKey = (resource: string): string => `holder:${resource}`;
/** State counter of lock-exclusion violations (must stay 0). */
export const VIOLATIONS_KEY = 'violations';
/** State counter handing out start sequence numbers. */
export const SEQUENCE_KEY = 'sequence';
