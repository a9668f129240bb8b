import { describe, expect, it } from 'vitest';
import { type Envelope, jsonCodec, parseEnvelope } from './codec.js';
import { MessageBusError } from './errors.js';

function envelope(p: unknown, extra: Partial<Envelope> = {}): Envelope {
  return { v: 1, id: 'abc:1', ts: 1_700_000_000_000, src: 'abc', seq: 1, ...extra, p };
}

/** The error `encode` throws for `payload`; fails the test when it throws something else or nothing. */
function refusal(payload: unknown): MessageBusError {
  try {
    jsonCodec.encode(envelope(payload));
  } catch (error) {
    if (error instanceof MessageBusError) return error;
    throw error;
  }
  throw new Error('encode accepted the payload');
}

function faithfulRefusal(problem: string): string {
  return `message cannot be sent faithfully as JSON: ${problem}`;
}

/** Nests `inner` inside `levels` objects: `{ a: { a: … inner } }`. */
function nested(levels: number, inner: unknown = 1): unknown {
  let value = inner;
  for (let level = 0; level < levels; level += 1) value = { a: value };
  return value;
}

function isPolluted(): boolean {
  return ({} as Record<string, unknown>)['polluted'] !== undefined;
}

function asRecord(value: unknown): Record<string, unknown> {
  expect(typeof value).toBe('object');
  expect(value).not.toBeNull();
  return value as Record<string, unknown>;
}

/** `[1, <hole>, 3]` */
function sparse(): unknown[] {
  const array: unknown[] = [1];
  array[2] = 3;
  return array;
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('jsonCodec.encode()', () => {
  it('writes the fields in a fixed order as compact JSON', () => {
    expect(jsonCodec.encode(envelope({ a: 1 }))).toBe(
      '{"v":1,"id":"abc:1","ts":1700000000000,"src":"abc","seq":1,"p":{"a":1}}',
    );
    expect(jsonCodec.encode(envelope('hi', { s: 'billing', seq: 7 }))).toBe(
      '{"v":1,"id":"abc:1","ts":1700000000000,"src":"abc","seq":7,"s":"billing","p":"hi"}',
    );
  });

  it('produces valid JSON that decodes back to an equal envelope without a sender', () => {
    const sent = envelope({ order: 42, items: [{ sku: 'A-1', qty: 2 }], note: null });
    const raw = jsonCodec.encode(sent);
    expect(JSON.parse(raw)).toEqual(sent);
    const received = jsonCodec.decode(raw);
    expect(received).toEqual(sent);
    expect(Object.hasOwn(asRecord(received), 's')).toBe(false);
    expect(parseEnvelope(received)).toEqual(sent);
  });

  it('produces valid JSON that decodes back to an equal envelope with a sender', () => {
    const sent = envelope([1, 'two', { three: true }], { s: 'wörker "7"\n', id: 'x"y:3', src: 'x"y', seq: 3 });
    const raw = jsonCodec.encode(sent);
    expect(JSON.parse(raw)).toEqual(sent);
    expect(jsonCodec.decode(raw)).toEqual(sent);
    expect(parseEnvelope(jsonCodec.decode(raw))).toEqual(sent);
  });

  describe('accepts payloads JSON keeps exactly', () => {
    it.each([
      ['null', null],
      ['true', true],
      ['false', false],
      ['an empty string', ''],
      ['a unicode string', 'héllo wörld — 注文 🎉 \u2028 "quoted" \\ back\u0000slash'],
      ['zero', 0],
      ['an integer', 42],
      ['a negative float', -1.5],
      ['a large number', 1e300],
      ['the largest safe integer', Number.MAX_SAFE_INTEGER],
      ['an empty array', []],
      ['an empty object', {}],
      ['nested arrays', [[1, [2, [3, []]]], ['a']]],
      ['nested objects', { a: { b: { c: 'd' } }, e: [{ f: null }] }],
      ['an object with an own constructor key', { constructor: 'not a class', a: 1 }],
      ['an object with an object constructor key', { constructor: { name: 'Fake' } }],
      ['256 levels of nesting', nested(256)],
    ])('%s', (_label, payload) => {
      const raw = jsonCodec.encode(envelope(payload));
      expect(asRecord(jsonCodec.decode(raw))['p']).toEqual(payload);
    });

    it('an object with a null prototype (decoded as a plain object)', () => {
      const payload = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: [2] });
      const raw = jsonCodec.encode(envelope(payload));
      const decoded = asRecord(jsonCodec.decode(raw))['p'];
      expect(decoded).toEqual({ a: 1, b: [2] });
      expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    });
  });

  describe('refuses payloads JSON would throw on', () => {
    it('a top-level BigInt', () => {
      const error = refusal(10n);
      expect(error.code).toBe('UNSERIALIZABLE_MESSAGE');
      expect(error.name).toBe('MessageBusError');
      expect(error.message).toBe(
        'message cannot be sent as JSON: message is a bigint, which JSON cannot represent (send it as a string)',
      );
      expect(error.cause).toBeInstanceOf(TypeError);
    });

    it('a nested BigInt, named by its path', () => {
      const error = refusal({ a: { b: [1, 2n] } });
      expect(error.code).toBe('UNSERIALIZABLE_MESSAGE');
      expect(error.message).toMatch(/^message cannot be sent as JSON: message\.a\.b\[1\] is a bigint/);
      expect(error.cause).toBeInstanceOf(TypeError);
    });

    it('a cyclic object', () => {
      const payload: Record<string, unknown> = { a: { b: 1 } };
      (payload['a'] as Record<string, unknown>)['back'] = payload;
      const error = refusal(payload);
      expect(error.code).toBe('UNSERIALIZABLE_MESSAGE');
      expect(error.message).toBe('message cannot be sent as JSON: message.a.back refers back to message (a cycle)');
      expect(error.cause).toBeInstanceOf(TypeError);
    });

    it('a cyclic array', () => {
      const payload: unknown[] = [1];
      payload.push([payload]);
      const error = refusal(payload);
      expect(error.code).toBe('UNSERIALIZABLE_MESSAGE');
      expect(error.message).toMatch(/message\[1\]\[0\] refers back to message \(a cycle\)/);
    });
  });

  it("refuses a payload whose getter throws, with the getter's message", () => {
    const error = refusal({
      get broken(): number {
        throw new Error('getter failed');
      },
    });
    expect(error.code).toBe('UNSERIALIZABLE_MESSAGE');
    expect(error.message).toBe('message cannot be sent as JSON: getter failed');
  });

  describe('refuses payloads JSON would silently change, naming the path', () => {
    it.each([
      ['a top-level function', () => 1, 'message is a function, which JSON drops'],
      ['a function in an object', { a: { b: () => 1 } }, 'message.a.b is a function, which JSON drops'],
      ['a function in an array', { list: [1, () => 1] }, 'message.list[1] is a function, which JSON drops'],
      ['a method named toJSON', { a: { toJSON: () => 'x' } }, 'message.a.toJSON is a function, which JSON drops'],
      ['a top-level undefined', undefined, 'message is undefined, which JSON drops'],
      ['undefined in an object', { a: { b: undefined } }, 'message.a.b is undefined, which JSON drops'],
      ['undefined in an array', [0, undefined], 'message[1] is undefined, which JSON drops'],
      ['a hole in a sparse array', { a: sparse() }, 'message.a[1] is undefined, which JSON drops'],
      ['a top-level symbol', Symbol('s'), 'message is a symbol, which JSON drops'],
      ['a nested symbol', { a: [Symbol('s')] }, 'message.a[0] is a symbol, which JSON drops'],
      ['NaN', { a: { b: Number.NaN } }, 'message.a.b is NaN, which JSON turns into null'],
      ['Infinity', [Number.POSITIVE_INFINITY], 'message[0] is Infinity, which JSON turns into null'],
      ['-Infinity', { a: Number.NEGATIVE_INFINITY }, 'message.a is -Infinity, which JSON turns into null'],
      [
        'a Date',
        { at: new Date(0) },
        'message.at is a Date, which JSON does not keep (use a plain object, an array or a string)',
      ],
      [
        'a Map',
        { a: { b: new Map([[1, 2]]) } },
        'message.a.b is a Map, which JSON does not keep (use a plain object, an array or a string)',
      ],
      [
        'a Set',
        [new Set([1])],
        'message[0] is a Set, which JSON does not keep (use a plain object, an array or a string)',
      ],
      [
        'a class instance',
        { where: new Point(1, 2) },
        'message.where is a Point, which JSON does not keep (use a plain object, an array or a string)',
      ],
      [
        'a top-level class instance',
        new Point(1, 2),
        'message is a Point, which JSON does not keep (use a plain object, an array or a string)',
      ],
      [
        'a boxed string',
        { a: Object('x') as unknown },
        'message.a is a String, which JSON does not keep (use a plain object, an array or a string)',
      ],
      [
        'a typed array',
        { bytes: new Uint8Array([1]) },
        'message.bytes is a Uint8Array, which JSON does not keep (use a plain object, an array or a string)',
      ],
    ])('%s', (_label, payload, problem) => {
      const error = refusal(payload);
      expect(error).toBeInstanceOf(MessageBusError);
      expect(error.code).toBe('UNSERIALIZABLE_MESSAGE');
      expect(error.message).toBe(faithfulRefusal(problem));
    });

    it('nesting deeper than 256 levels (objects)', () => {
      const error = refusal(nested(300));
      expect(error.code).toBe('UNSERIALIZABLE_MESSAGE');
      expect(error.message).toMatch(
        /^message cannot be sent faithfully as JSON: message(\.a)+ is nested deeper than 256 levels$/,
      );
    });

    it('nesting deeper than 256 levels (arrays)', () => {
      let payload: unknown = [];
      for (let level = 0; level < 300; level += 1) payload = [payload];
      const error = refusal(payload);
      expect(error.code).toBe('UNSERIALIZABLE_MESSAGE');
      expect(error.message).toMatch(
        /^message cannot be sent faithfully as JSON: message(\[0\])+ is nested deeper than 256 levels$/,
      );
    });

    it('nesting 1,000 levels deep', () => {
      expect(refusal(nested(1000)).message).toContain('is nested deeper than 256 levels');
    });

    it('a property keyed by a symbol, which JSON drops', () => {
      const error = refusal({ a: 1, [Symbol('k')]: 2 });
      expect(error.code).toBe('UNSERIALIZABLE_MESSAGE');
      expect(error.message).toMatch(/^message cannot be sent faithfully as JSON: /);
    });
  });
});

describe('jsonCodec.decode()', () => {
  it('parses JSON text', () => {
    expect(jsonCodec.decode('{"v":1,"p":[1,"a",null,{"b":true}]}')).toEqual({ v: 1, p: [1, 'a', null, { b: true }] });
    expect(jsonCodec.decode('"x"')).toBe('x');
    expect(jsonCodec.decode('null')).toBeNull();
  });

  it('drops a __proto__ key in the payload without polluting Object.prototype', () => {
    const decoded = asRecord(jsonCodec.decode('{"p":{"__proto__":{"polluted":1},"keep":2}}'));
    const payload = asRecord(decoded['p']);
    expect(Object.hasOwn(payload, '__proto__')).toBe(false);
    expect(Object.getPrototypeOf(payload)).toBe(Object.prototype);
    expect(payload).toEqual({ keep: 2 });
    expect(payload['polluted']).toBeUndefined();
    expect(isPolluted()).toBe(false);

    const copy: Record<string, unknown> = Object.assign({}, payload);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(copy['polluted']).toBeUndefined();
    const spread = { ...payload };
    expect(Object.getPrototypeOf(spread)).toBe(Object.prototype);
    expect(isPolluted()).toBe(false);
  });

  it('drops a __proto__ key at the top level', () => {
    const decoded = asRecord(jsonCodec.decode('{"__proto__":{"polluted":1},"v":1}'));
    expect(Object.keys(decoded)).toEqual(['v']);
    expect(Object.hasOwn(decoded, '__proto__')).toBe(false);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(decoded['polluted']).toBeUndefined();
    expect(isPolluted()).toBe(false);
  });

  it('drops a __proto__ key nested deep inside arrays and objects', () => {
    const decoded = asRecord(jsonCodec.decode('{"p":{"a":[{"b":{"__proto__":{"polluted":1},"c":3}}]}}'));
    expect(decoded).toEqual({ p: { a: [{ b: { c: 3 } }] } });
    const inner = asRecord(((asRecord(decoded['p'])['a'] as unknown[])[0] as Record<string, unknown>)['b']);
    expect(Object.hasOwn(inner, '__proto__')).toBe(false);
    expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
    const copy: Record<string, unknown> = Object.assign({}, inner);
    expect(copy['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(isPolluted()).toBe(false);
  });

  it('drops a __proto__ key written with JSON escapes', () => {
    // "\u005f_proto__" is the same key as "__proto__" once parsed.
    const decoded = asRecord(jsonCodec.decode('{"p":{"\\u005f_proto__":{"polluted":1},"keep":2}}'));
    const payload = asRecord(decoded['p']);
    expect(Object.hasOwn(payload, '__proto__')).toBe(false);
    expect(payload).toEqual({ keep: 2 });
    const copy: Record<string, unknown> = Object.assign({}, payload);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(copy['polluted']).toBeUndefined();
    expect(isPolluted()).toBe(false);
  });

  it('keeps "__proto__" as a string value and keeps constructor keys as plain data', () => {
    const decoded = asRecord(jsonCodec.decode('{"p":{"x":"__proto__","constructor":{"prototype":{"polluted":1}}}}'));
    expect(decoded).toEqual({ p: { x: '__proto__', constructor: { prototype: { polluted: 1 } } } });
    Object.assign({}, decoded['p']);
    expect(isPolluted()).toBe(false);
    expect(jsonCodec.decode('"__proto__"')).toBe('__proto__');
  });

  it.each(['', '{', '{"v":1,}', "{'v':1}", 'undefined', '{"__proto__":', '[1,2', 'NaN'])(
    'throws on malformed JSON %j',
    (raw) => {
      expect(() => jsonCodec.decode(raw)).toThrow(SyntaxError);
    },
  );
});

describe('parseEnvelope()', () => {
  const valid = { v: 1, id: 'abc:1', ts: 1_700_000_000_000, src: 'abc', seq: 1, p: { a: 1 } } as const;

  it('returns a valid envelope itself', () => {
    const value = { ...valid };
    expect(parseEnvelope(value)).toBe(value);
  });

  it.each([
    ['a sender', { ...valid, s: 'billing' }],
    ['a null payload', { ...valid, p: null }],
    ['a false payload', { ...valid, p: false }],
    ['a zero payload', { ...valid, p: 0 }],
    ['an empty-string payload', { ...valid, p: '' }],
    ['a negative, fractional ts', { ...valid, ts: -1.5 }],
    ['the largest safe seq', { ...valid, seq: Number.MAX_SAFE_INTEGER }],
    ['a null-prototype object', Object.assign(Object.create(null) as object, valid)],
  ])('accepts an envelope with %s', (_label, value) => {
    expect(parseEnvelope(value)).toBe(value);
  });

  it('accepts an encoded and decoded envelope', () => {
    const sent = envelope({ deep: [1, { x: 'y' }] }, { s: 'me' });
    expect(parseEnvelope(jsonCodec.decode(jsonCodec.encode(sent)))).toEqual(sent);
  });

  function without(key: keyof typeof valid): Record<string, unknown> {
    const copy: Record<string, unknown> = { ...valid };
    delete copy[key];
    return copy;
  }

  it.each([
    ['a string', 'envelope', 'not an envelope object'],
    ['a number', 1, 'not an envelope object'],
    ['a boolean', true, 'not an envelope object'],
    ['undefined', undefined, 'not an envelope object'],
    ['null', null, 'not an envelope object'],
    ['an array', [], 'not an envelope object'],
    ['an array holding an envelope', [valid], 'not an envelope object'],
    ['v: 0', { ...valid, v: 0 }, 'unknown envelope version 0'],
    ['v: 2', { ...valid, v: 2 }, 'unknown envelope version 2'],
    ["v: '1'", { ...valid, v: '1' }, 'unknown envelope version "1"'],
    ['no v', without('v'), 'unknown envelope version undefined'],
    ['an extra field', { ...valid, extra: 1 }, "unexpected envelope field 'extra'"],
    [
      'an own __proto__ field',
      JSON.parse('{"v":1,"__proto__":{}}') as unknown,
      "unexpected envelope field '__proto__'",
    ],
    ['no id', without('id'), 'envelope id is missing'],
    ['an empty id', { ...valid, id: '' }, 'envelope id is missing'],
    ['a numeric id', { ...valid, id: 1 }, 'envelope id is missing'],
    ['a string ts', { ...valid, ts: '1700000000000' }, 'envelope ts is not a number'],
    ['a NaN ts', { ...valid, ts: Number.NaN }, 'envelope ts is not a number'],
    ['an infinite ts', { ...valid, ts: Number.POSITIVE_INFINITY }, 'envelope ts is not a number'],
    ['no ts', without('ts'), 'envelope ts is not a number'],
    ['no src', without('src'), 'envelope src is missing'],
    ['an empty src', { ...valid, src: '' }, 'envelope src is missing'],
    ['seq 0', { ...valid, seq: 0 }, 'envelope seq is not a positive integer'],
    ['a negative seq', { ...valid, seq: -1 }, 'envelope seq is not a positive integer'],
    ['a fractional seq', { ...valid, seq: 1.5 }, 'envelope seq is not a positive integer'],
    ['a string seq', { ...valid, seq: '1' }, 'envelope seq is not a positive integer'],
    ['an unsafe seq', { ...valid, seq: 2 ** 53 }, 'envelope seq is not a positive integer'],
    ['no seq', without('seq'), 'envelope seq is not a positive integer'],
    ['a numeric sender', { ...valid, s: 5 }, 'envelope sender is not a string'],
    ['a null sender', { ...valid, s: null }, 'envelope sender is not a string'],
    ['no payload', without('p'), 'envelope has no payload'],
    ['p: undefined', { ...valid, p: undefined }, 'envelope has no payload'],
  ])('returns a reason for %s', (_label, value, reason) => {
    expect(parseEnvelope(value)).toBe(reason);
  });

  it.each([
    ['a BigInt version', 1n],
    [
      'a cyclic version',
      (() => {
        const cycle: Record<string, unknown> = {};
        cycle['self'] = cycle;
        return cycle;
      })(),
    ],
  ])('returns a reason, not a throw, for %s (a custom codec may decode such values)', (_label, version) => {
    let result: unknown;
    expect(() => {
      result = parseEnvelope({ ...valid, v: version });
    }).not.toThrow();
    expect(result).toMatch(/^unknown envelope version /);
  });
});

describe('parseEnvelope() fuzz', () => {
  /** mulberry32: small, seeded, deterministic. */
  function prng(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
  }

  const random = prng(0x5eed);
  const int = (below: number): number => Math.floor(random() * below);
  function pick<T>(items: readonly T[]): T {
    return items[int(items.length)]!;
  }

  const KEYS = [
    'v',
    'id',
    'ts',
    'src',
    'seq',
    's',
    'p',
    '__proto__',
    'constructor',
    'toString',
    '',
    'a',
    'ключ',
    '🎉',
  ] as const;
  const CHARS = ['a', 'Z', '0', ':', '"', '\\', '\n', '\u0000', 'é', '注', '🎉', ' ', '{', '}'];
  const NUMBERS = [0, -0, 1, -1, 1.5, 2 ** 53, -(2 ** 31), 1e308, Number.MIN_VALUE, 1_700_000_000_000];

  function randomString(): string {
    let text = '';
    const length = int(8);
    for (let index = 0; index < length; index += 1) text += pick(CHARS);
    return text;
  }

  function randomNumber(): number {
    return random() < 0.5 ? pick(NUMBERS) : (random() - 0.5) * 10 ** int(12);
  }

  function randomValue(depth: number): unknown {
    const kind = depth >= 6 ? int(4) : int(6);
    switch (kind) {
      case 0:
        return randomString();
      case 1:
        return randomNumber();
      case 2:
        return pick([true, false, null]);
      case 3:
        return pick([1, '1', 'abc:1', 'abc', 0]);
      case 4:
        return Array.from({ length: int(4) }, () => randomValue(depth + 1));
      default:
        // fromEntries defines own properties, so a '__proto__' key stays data and reaches the JSON text.
        return Object.fromEntries(Array.from({ length: int(6) }, () => [pick(KEYS), randomValue(depth + 1)]));
    }
  }

  const WRONG: Record<keyof Envelope, readonly unknown[]> = {
    v: [0, 2, '1', true, null, [], {}, 1.0000001],
    id: ['', 0, null, [], {}, true],
    ts: ['1', null, [], {}, true, ''],
    src: ['', 0, null, [], {}, false],
    seq: [0, -1, 1.5, '1', null, 2 ** 53, [], {}, true],
    s: [0, null, [], {}, true],
    p: [],
  };

  function randomValidEnvelope(): Record<string, unknown> {
    const src = randomString() || 'src';
    const seq = 1 + int(1_000_000);
    const result: Record<string, unknown> = {
      v: 1,
      id: `${src}:${seq}`,
      ts: randomNumber(),
      src,
      seq,
      p: randomValue(1),
    };
    if (random() < 0.5) result['s'] = randomString();
    return result;
  }

  /** A valid envelope with one field broken (wrong type, deleted or an extra key): never valid. */
  function brokenEnvelope(): Record<string, unknown> {
    const result = randomValidEnvelope();
    const field = pick(['v', 'id', 'ts', 'src', 'seq', 's', 'p', 'extra'] as const);
    if (field === 'extra') {
      result[pick(['x', 'V', 'payload', 'constructor', 'sender', ' p'])] = randomValue(3);
    } else if (field === 'p' || (field !== 's' && random() < 0.2)) {
      delete result[field];
    } else {
      result[field] = pick(WRONG[field]);
    }
    return result;
  }

  /** What the bus does with a received string: decode (never throwing) then check. */
  function receive(raw: string): Envelope | string {
    let decoded: unknown;
    try {
      decoded = jsonCodec.decode(raw);
    } catch (error) {
      return `cannot be decoded: ${(error as Error).message}`;
    }
    return parseEnvelope(decoded);
  }

  it('never throws and rejects 10,000 random and broken values while passing the valid ones', () => {
    let valid = 0;
    let rejected = 0;
    for (let round = 0; round < 10_000; round += 1) {
      const mode = round % 4;
      if (mode === 0) {
        const value = randomValidEnvelope();
        const raw = JSON.stringify(value);
        const result = receive(raw);
        expect(typeof result).toBe('object');
        const { p, ...meta } = result as Envelope;
        const { p: _sentPayload, ...sentMeta } = value;
        expect(meta).toEqual(JSON.parse(JSON.stringify(sentMeta)));
        expect(p).not.toBeUndefined();
        expect(parseEnvelope(value)).toBe(value);
        valid += 1;
        continue;
      }
      // randomValue() objects hold at most 5 keys, fewer than the 6 an envelope needs: never valid.
      const value = mode === 1 ? brokenEnvelope() : randomValue(0);
      const raw = JSON.stringify(value);
      expect(typeof receive(raw)).toBe('string');
      expect(typeof parseEnvelope(value)).toBe('string');
      // A cut-off message is malformed JSON or a different value: still a reason, never a throw.
      const cut = receive(raw.slice(0, int(raw.length)));
      expect(typeof cut).toBe('string');
      rejected += 1;
    }
    expect(valid).toBe(2_500);
    expect(rejected).toBe(7_500);
  });

  it('handles values nested 1,000 levels deep', () => {
    let objects: unknown = 'bottom';
    let arrays: unknown = [];
    for (let level = 0; level < 1_000; level += 1) {
      objects = { p: objects, v: 1 };
      arrays = [arrays];
    }
    expect(receive(JSON.stringify(objects))).toBe('envelope id is missing');
    expect(receive(JSON.stringify(arrays))).toBe('not an envelope object');

    const deepValid = { v: 1, id: 'abc:1', ts: 0, src: 'abc', seq: 1, p: objects };
    const received = receive(JSON.stringify(deepValid));
    expect(typeof received).toBe('object');
    expect((received as Envelope).seq).toBe(1);
    expect(() => jsonCodec.encode(deepValid as Envelope)).toThrow(MessageBusError);
  });
});

describe('jsonCodec.encode: objects without a named constructor', () => {
  it('refuses an object whose prototype has no constructor, calling it an object', () => {
    const odd = Object.create(Object.create(null) as object) as object;
    expect(() => jsonCodec.encode({ v: 1, id: 'a:1', ts: 1, src: 'a', seq: 1, p: { odd } })).toThrow(
      /message\.odd is a object/,
    );
  });
});

describe('jsonCodec.encode: where the problem is', () => {
  it('names the bad value after walking past the good ones of every kind', () => {
    const p = {
      s: 'x',
      b: true,
      n: null,
      num: 1,
      arr: [1, 'two', { ok: false }],
      nested: { fine: null },
      bad: undefined,
    };
    expect(() => jsonCodec.encode({ v: 1, id: 'a:1', ts: 1, src: 'a', seq: 1, p })).toThrow(
      /message\.bad is undefined/,
    );
  });
});
