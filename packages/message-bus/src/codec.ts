import { isFaithfulJson, jsonProblem, parseJsonWithoutProto } from '@shim/connection/kit';
import { MessageBusError } from './errors.js';
import { describeError } from './internal/describe.js';

/** What travels on the wire: the payload and a little metadata. */
export interface Envelope {
  /** Envelope format version. */
  v: 1;
  /** Message id: `<src>:<seq>`, unique per publisher instance. */
  id: string;
  /** When it was sent. Unit: ms since epoch (publisher's clock). */
  ts: number;
  /** Random id of the publishing bus instance. */
  src: string;
  /** Per channel (or recipient), per publisher instance: 1, 2, 3 … (gap detection). */
  seq: number;
  /** The publisher's name, when it gave one. */
  s?: string;
  /** The payload. */
  p: unknown;
}

/**
 * Turns envelopes into strings and back. The default is {@link jsonCodec}; plug your own (e.g. one
 * that keeps Dates) with the `codec` option. The bus validates whatever `decode` returns.
 */
export interface MessageCodec {
  /** Encodes an envelope; throws when its payload cannot be represented faithfully. */
  encode(envelope: Envelope): string;
  /** Decodes a received string; throws on malformed input. */
  decode(raw: string): unknown;
}

/** Where JSON.stringify failed, or undefined when walking the value fails too (a throwing getter). */
function pathOfProblem(value: unknown): string | undefined {
  try {
    return jsonProblem(value, 'message');
  } catch {
    return undefined;
  }
}

/**
 * The default codec: the envelope as JSON. `encode` refuses payloads JSON would change (BigInt,
 * cycles, functions, `undefined`, symbols, NaN/Infinity, Dates, Maps, class instances).
 * `decode` drops `__proto__` keys, so a received message can never carry a prototype setter.
 */
export const jsonCodec: MessageCodec = {
  encode(envelope: Envelope): string {
    let payload: string;
    try {
      payload = JSON.stringify(envelope.p);
    } catch (error) {
      // BigInt or a cycle: name where it is (JSON.stringify's own message does not).
      const where = pathOfProblem(envelope.p) ?? describeError(error);
      throw new MessageBusError('UNSERIALIZABLE_MESSAGE', `message cannot be sent as JSON: ${where}`, {
        cause: error,
      });
    }
    // The quick check allocates nothing; only a refused message pays for building the path.
    const problem = isFaithfulJson(envelope.p) ? undefined : jsonProblem(envelope.p, 'message');
    // Every value JSON.stringify turns into undefined (function, symbol, undefined) is a problem here too.
    if (problem !== undefined) {
      throw new MessageBusError('UNSERIALIZABLE_MESSAGE', `message cannot be sent faithfully as JSON: ${problem}`);
    }
    const sender = envelope.s === undefined ? '' : `,"s":${JSON.stringify(envelope.s)}`;
    return `{"v":1,"id":${JSON.stringify(envelope.id)},"ts":${envelope.ts},"src":${JSON.stringify(envelope.src)},"seq":${envelope.seq}${sender},"p":${payload}}`;
  },
  decode(raw: string): unknown {
    return parseJsonWithoutProto(raw);
  },
};

const ENVELOPE_KEYS = new Set(['v', 'id', 'ts', 'src', 'seq', 's', 'p']);

/** Checks that a decoded value is a version-1 envelope with exactly the known fields; returns why not, or the envelope. */
export function parseEnvelope(value: unknown): Envelope | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an envelope object';
  const record = value as Record<string, unknown>;
  if (record['v'] !== 1) {
    const version = record['v'];
    return `unknown envelope version ${typeof version === 'number' || typeof version === 'string' ? JSON.stringify(version) : typeof version}`;
  }
  for (const key in record) {
    if (!ENVELOPE_KEYS.has(key)) return `unexpected envelope field '${key}'`;
  }
  if (typeof record['id'] !== 'string' || record['id'].length === 0) return 'envelope id is missing';
  if (typeof record['ts'] !== 'number' || !Number.isFinite(record['ts'])) return 'envelope ts is not a number';
  if (typeof record['src'] !== 'string' || record['src'].length === 0) return 'envelope src is missing';
  if (typeof record['seq'] !== 'number' || !Number.isSafeInteger(record['seq']) || record['seq'] < 1) {
    return 'envelope seq is not a positive integer';
  }
  if (record['s'] !== undefined && typeof record['s'] !== 'string') return 'envelope sender is not a string';
  if (!('p' in record) || record['p'] === undefined) return 'envelope has no payload';
  return record as unknown as Envelope;
}
