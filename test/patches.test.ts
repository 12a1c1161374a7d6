/** Files → patches (docs/format.md §1) against the token sequences of the reference vectors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collate, extensionOf, filePatches, headerPatch, truncate } from '../src/data/patches.js';
import { Rng } from '../src/util/rng.js';
import { vectors } from './helpers.js';

const S = vectors.config.PATCH_SIZE, L = vectors.config.PATCH_LENGTH;
const caseOf = (n: string) => vectors.cases.find((c) => c.name === n)!;

describe('patching', () => {
  it('reproduces the reference token sequences', () => {
    assert.deepEqual([...truncate(filePatches(Buffer.from('Hi bGPT!'), 'txt', S), S, L, 'head')], caseOf('single_txt').inputs[0]);
    assert.deepEqual([...truncate(filePatches(Buffer.from('abcde'), 'bin', S), S, L, 'head')], caseOf('partial_patch').inputs[0]);
    // the batch: the short sequence is padded with <eop> and mask 0
    const a = Buffer.from(Array.from({ length: 5 * S + 2 }, (_, i) => 65 + i));
    const b = collate([filePatches(a, 'abc', S), filePatches(Buffer.from('xyz'), 'mid', S)], S);
    const c = caseOf('batch_padded');
    assert.deepEqual([...b.tokens], c.inputs.flat());
    assert.deepEqual([...b.masks], c.masks.flat());
    // head truncation of a long file keeps the first L patches
    const t = caseOf('truncated_head');
    const bytes = Buffer.from(t.inputs[0].slice(S)); // the data part that survived
    const long = Buffer.concat([bytes, Buffer.alloc(4 * S, 7)]);
    assert.deepEqual([...truncate(filePatches(long, 'raw', S), S, L, 'head')], t.inputs[0]);
  });

  it('extension rules', () => {
    assert.equal(extensionOf('a/b.c/file'), '');
    assert.equal(extensionOf('dir/x.tar.gz'), 'gz');
    assert.equal(extensionOf('Makefile'), '');
    assert.deepEqual([...headerPatch('', 4)], [256, 256, 256, 256]);
    assert.deepEqual([...headerPatch('jpeg2000', 4)], [...Buffer.from('jpeg')]);
  });

  it('empty file and exact multiple of S', () => {
    assert.deepEqual([...filePatches(new Uint8Array(0), 'txt', 4)], [116, 120, 116, 256, 256, 256, 256, 256]);
    assert.deepEqual([...filePatches(Buffer.from('abcd'), '', 4)], [256, 256, 256, 256, 97, 98, 99, 100, 256, 256, 256, 256]);
  });

  it('random truncation picks head, body or tail windows of L patches', () => {
    const N = 12, S2 = 2, L2 = 5;
    const p = Int32Array.from({ length: N * S2 }, (_, i) => Math.floor(i / S2));
    const starts = new Set<number>();
    const rng = new Rng(1);
    for (let i = 0; i < 300; i++) {
      const w = truncate(p, S2, L2, 'random', rng);
      assert.equal(w.length, L2 * S2);
      starts.add(w[0]);
    }
    // head 0, tail N−L = 7, body any of 1..7
    assert.ok(starts.has(0) && starts.has(7));
    for (const s of starts) assert.ok(s >= 0 && s <= N - L2);
    assert.ok(starts.size > 3);
  });
});
