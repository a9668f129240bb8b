import type { ListFilter } from '../types.js';
import { parseWorkers, type WorkerInfo, type WorkerStatus } from '../worker-info.js';

/**
 * What `LIST_ALIVE` returns: the epoch ('' = none) and last sequence number; the alive ids and their last heartbeats
 * alternating, newline-separated; the infos (newline-separated) and statuses (comma-separated) of the workers changed
 * after the sequence number asked about, or of every alive worker when the epoch asked about is not current.
 */
export type AliveReply = [epoch: string, seq: string, alive: string, infos: string, statuses: string];

/** The slow-changing part of a worker, as the last read left it; `metadata` is only read here, never handed out. */
type CachedWorker = Omit<WorkerInfo, 'id' | 'lastHeartbeat'> & { metadataJson: string };

/**
 * `listActive()`'s copy of the slow-changing part of the workers, current up to sequence number `#seq` of `#epoch`:
 * every id alive at the last full read, plus those changed since (`null` for an alive id without info: no worker).
 * Each call reads the alive ids with their heartbeats and only the workers changed since `#seq`; plain heartbeats
 * change nothing here.
 */
export class ListCache {
  readonly #read: (epoch: string, seq: number) => Promise<AliveReply>;
  /** '' while there is no copy (nobody registered, or data written without sequence numbers). */
  #epoch = '';
  #seq = 0;
  #workers = new Map<string, CachedWorker | null>();

  /** `read(epoch, seq)` runs `LIST_ALIVE` for a copy at `epoch`/`seq` ('' and 0: a full read). */
  constructor(read: (epoch: string, seq: number) => Promise<AliveReply>) {
    this.#read = read;
  }

  /** The alive workers that pass `filter`, oldest heartbeat first, in new objects each call. */
  async list(filter: ListFilter): Promise<WorkerInfo[]> {
    const listed = this.#build(await this.#update(this.#epoch), filter);
    // An alive id the copy has never seen although no change says so: the clock went back, or a writer that does not
    // number its changes. Read everything again rather than miss it.
    return listed ?? this.#build(await this.#update(''), filter) ?? [];
  }

  /** One round trip: brings the copy up to date; returns the alive ids and heartbeats, alternating. */
  async #update(known: string): Promise<string[]> {
    const [epoch, seqText, list, infos, statuses] = await this.#read(known, known === '' ? 0 : this.#seq);
    const alive = list === '' ? [] : list.split('\n');
    const seq = Number(seqText);
    const full = known === '' || epoch !== known;
    if (full) this.#workers = new Map();
    // Replies come in order on one connection; still, never let an older one undo a newer one.
    if (full || seq > this.#seq) {
      this.#seq = seq;
      const statusList = statuses.split(',');
      for (const [index, { id, incarnation, registeredAt, metadata }] of parseWorkers(infos).entries()) {
        const status = statusList[index] as WorkerStatus;
        this.#workers.set(id, { incarnation, registeredAt, status, metadata, metadataJson: JSON.stringify(metadata) });
      }
    }
    if (full) {
      for (let index = 0; index < alive.length; index += 2) {
        const id = alive[index] as string;
        if (!this.#workers.has(id)) this.#workers.set(id, null);
      }
      this.#epoch = epoch;
    } else if (this.#workers.size > alive.length) {
      // More than twice as many entries as alive workers: drop those no longer alive. Only a new registration (a
      // change, read again) brings an id back.
      const aliveIds = new Set(alive.filter((_, index) => index % 2 === 0));
      for (const id of this.#workers.keys()) if (!aliveIds.has(id)) this.#workers.delete(id);
    }
    return alive;
  }

  /** The filtered list, or undefined when an alive id is missing from the copy. */
  #build(alive: string[], filter: ListFilter): WorkerInfo[] | undefined {
    const workers: WorkerInfo[] = [];
    for (let index = 0; index < alive.length; index += 2) {
      const id = alive[index] as string;
      const cached = this.#workers.get(id);
      if (cached === undefined) return undefined;
      if (cached === null || (filter.status !== undefined && cached.status !== filter.status)) continue;
      const capabilities = cached.metadata['capabilities'];
      if (filter.capability !== undefined && !(Array.isArray(capabilities) && capabilities.includes(filter.capability)))
        continue;
      const { incarnation, registeredAt, status, metadataJson } = cached;
      // A fresh metadata copy per call: a caller changing what it got must not change the next list.
      const metadata = JSON.parse(metadataJson) as Record<string, unknown>;
      workers.push({ id, incarnation, metadata, registeredAt, status, lastHeartbeat: Number(alive[index + 1]) });
    }
    return workers;
  }
}
