export { TaskQueueWrapper } from './task-queue.js';
export type {
  AddJobOptions,
  BulkJob,
  CleanOptions,
  CloseOptions,
  DeadLetter,
  JobContext,
  JobHandler,
  ProcessOptions,
  QueueStats,
} from './types.js';
export { DEFAULT_TASK_QUEUE_OPTIONS, MAX_PRIORITY } from './options.js';
export type { BackoffOptions, KeepJobsOptions, TaskQueueOptions } from './options.js';
export type { TaskEvent, TaskEventHandler, TaskQueueEvents } from './events.js';
export { TaskQueueError, isTaskQueueError } from './errors.js';
export type { TaskQueueErrorCode } from './errors.js';
export { DEAD_LETTER_SUFFIX, queueNameProblem, queueNames } from './keys.js';
export type { QueueNames } from './keys.js';
