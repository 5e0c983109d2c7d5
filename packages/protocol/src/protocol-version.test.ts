import {hashOf} from '@zync/shared';
import {expect, test} from 'vitest';
import {downstreamSchemas, upstreamSchemas} from './frames.ts';
import {PROTOCOL_VERSION} from './version.ts';

// Describes a valibot schema as plain data, following lazy schemas once.
function describe(schema: unknown, seen: Map<unknown, number>): unknown {
  if (schema === null || typeof schema !== 'object') return schema;
  const s = schema as Record<string, unknown>;
  if (seen.has(schema)) return {ref: seen.get(schema)};
  seen.set(schema, seen.size);
  const out: Record<string, unknown> = {type: s.type};
  for (const key of ['literal', 'options', 'expects', 'key', 'value', 'item', 'wrapped']) {
    if (key in s) {
      const val = s[key];
      out[key] = Array.isArray(val)
        ? val.map(x => describe(x, seen))
        : typeof val === 'object'
          ? describe(val, seen)
          : val;
    }
  }
  if (s.entries && typeof s.entries === 'object') {
    out.entries = Object.fromEntries(
      Object.entries(s.entries as Record<string, unknown>).map(([k, x]) => [k, describe(x, seen)]),
    );
  }
  if (Array.isArray(s.items)) out.items = s.items.map(x => describe(x, seen));
  if (Array.isArray(s.pipe)) out.pipe = s.pipe.slice(1).map(x => describe(x, seen));
  if (typeof s.getter === 'function') out.lazy = describe((s.getter as () => unknown)(), seen);
  if ('requirement' in s && typeof s.requirement !== 'function') out.requirement = s.requirement;
  return out;
}

test('the frame schemas are pinned to the protocol version', () => {
  const seen = new Map<unknown, number>();
  const shape = {
    up: Object.fromEntries(Object.entries(upstreamSchemas).map(([k, x]) => [k, describe(x, seen)])),
    down: Object.fromEntries(
      Object.entries(downstreamSchemas).map(([k, x]) => [k, describe(x, seen)]),
    ),
  };
  // If this fails you changed the wire format: bump PROTOCOL_VERSION and update both values.
  expect({version: PROTOCOL_VERSION, hash: hashOf(shape)}).toEqual({
    version: 4,
    hash: '7caabcaf6f6b9125',
  });
});
