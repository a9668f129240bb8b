import type { SupervisorEvent } from './swarm/supervisor.js';
import type { WorkerProcess } from './swarm/spawn.js';

/** The figures printed at the end of a run. */
export interface Summary {
  complete: boolean;
  tasks: number;
  completed: number;
  deadLettered: number;
  /** Tasks a handler finished more than once (after a worker died mid-task). */
  reruns: number;
  /** Attempts after a failure. */
  retries: number;
  seconds: number;
  perWorker: Record<string, number>;
  words: number;
  violations: number;
}

interface WorkerLine {
  status: string;
  task: string;
  done: number;
}

const BAR_WIDTH = 30;

/**
 * What the demo prints: on a terminal, a progress bar and one status line per worker redrawn in
 * place; otherwise (CI, a pipe) plain log lines. Either way a summary at the end.
 */
export class LiveView {
  readonly #total: number;
  readonly #interactive: boolean;
  readonly #workers = new Map<string, WorkerLine>();
  readonly #seen = new Map<WorkerProcess, number>();
  readonly #dropped = new Set<string>();
  #done = 0;
  #drawnLines = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { total: number; interactive: boolean }) {
    this.#total = options.total;
    this.#interactive = options.interactive;
    if (this.#interactive) {
      this.#timer = setInterval(() => this.#draw(), 100);
      this.#timer.unref();
    }
  }

  /** A line above the live view (or on its own when not interactive). */
  log(line: string): void {
    if (this.#interactive) this.#clear();
    process.stdout.write(`${line}\n`);
    if (this.#interactive) this.#draw();
  }

  onSupervisorEvent(event: SupervisorEvent): void {
    switch (event.kind) {
      case 'task-done':
        this.#done = event.done;
        if (!this.#interactive && (event.done % 25 === 0 || event.done === event.total)) {
          this.log(`progress: ${event.done}/${event.total} tasks done`);
        }
        break;
      case 'registry': {
        const { type, worker } = event.event;
        const line = this.#line(worker.id);
        line.status = type === 'stale' ? 'STALE (reaped)' : type === 'left' ? 'left' : worker.status;
        if (type !== 'status')
          this.log(`registry: ${worker.id} ${type}${event.event.reason ? ` (${event.event.reason})` : ''}`);
        break;
      }
      case 'connection':
        // The first `ready` of each connection is just the start; report drops and recoveries.
        if (event.event !== 'ready' || this.#dropped.delete(event.detail)) {
          if (event.event !== 'ready') this.#dropped.add(event.detail);
          this.log(`connection: ${event.detail} ${event.event}`);
        }
        break;
      case 'error':
        this.log(`error (${event.source}): ${event.message}`);
        break;
      case 'progress':
        break;
    }
  }

  onWorkerEvents(worker: WorkerProcess): void {
    const from = this.#seen.get(worker) ?? 0;
    this.#seen.set(worker, worker.events.length);
    for (const event of worker.events.slice(from)) {
      const line = this.#line(worker.args.id);
      if (event.event === 'start') {
        line.task = String(event['task']);
        line.status = 'busy';
        if (!this.#interactive && Number(event['attempt']) > 1) this.log(`${worker.args.id}: retrying ${line.task}`);
      } else if (event.event === 'done') {
        line.done += 1;
        line.task = '';
      } else if (event.event === 'error') {
        this.log(`${worker.args.id} error (${String(event['source'])}): ${String(event['message'])}`);
      }
    }
  }

  finish(summary: Summary): void {
    clearInterval(this.#timer);
    if (this.#interactive) {
      this.#draw();
      process.stdout.write('\n');
    }
    const lines = [
      '',
      summary.complete ? 'All tasks completed.' : 'NOT all tasks completed.',
      `  tasks:            ${summary.completed}/${summary.tasks} completed, ${summary.deadLettered} dead-lettered`,
      `  retries:          ${summary.retries} (failed attempts run again)`,
      `  reruns:           ${summary.reruns} (tasks run twice after a worker died)`,
      `  lock violations:  ${summary.violations}`,
      `  words counted:    ${summary.words}`,
      `  time:             ${summary.seconds.toFixed(1)} s`,
      '  per worker:       ' +
        Object.entries(summary.perWorker)
          .map(([id, count]) => `${id} ${count}`)
          .join(', '),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }

  #line(id: string): WorkerLine {
    let line = this.#workers.get(id);
    if (line === undefined) {
      line = { status: 'idle', task: '', done: 0 };
      this.#workers.set(id, line);
    }
    return line;
  }

  #clear(): void {
    if (this.#drawnLines > 0) process.stdout.write(`\x1b[${this.#drawnLines}A\x1b[0J`);
    this.#drawnLines = 0;
  }

  #draw(): void {
    this.#clear();
    const filled = this.#total === 0 ? BAR_WIDTH : Math.round((this.#done / this.#total) * BAR_WIDTH);
    const lines = [
      `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${this.#done}/${this.#total}`,
      ...[...this.#workers.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(
          ([id, line]) =>
            `  ${id.padEnd(10)} ${line.status.padEnd(15)} done ${String(line.done).padStart(4)}  ${line.task}`,
        ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    this.#drawnLines = lines.length;
  }
}
