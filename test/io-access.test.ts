/** The readers over bytes in memory (as the browser reads a fetched file) give what they give from disk. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bytesAccess, type RandomAccess } from '../src/io/access.js';
import { fileAccess } from '../src/io/file-access.js';
import { PthSource } from '../src/io/pth/read-pth.js';
import { openTensorSource } from '../src/io/open.js';
import { readModelWeights, readWeights } from '../src/io/weights.js';
import { VECTORS } from './helpers.js';

describe('readers over bytes', () => {
  for (const f of ['weights.pth', 'weights.safetensors', 'cls.pth']) {
    it(`${f}: the same weights as from the file`, () => {
      const path = join(VECTORS, f), bytes = readFileSync(path);
      const src = openTensorSource(f, bytesAccess(bytes));
      const w = readWeights(src);
      src.close();
      const want = readModelWeights(path);
      assert.deepEqual(w.config, want.config);
      assert.deepEqual(w.task, want.task);
      assert.deepEqual(w.params, want.params);
      assert.throws(() => readWeights(openTensorSource(f, bytesAccess(bytes.subarray(0, bytes.length - 100)))), /truncated|corrupt|not a complete zip|run past|does not fit|cover/);
    });
  }
});

describe('streamed .pth loading', () => {
  it('reads slices through one reused buffer, each slice its own values', () => {
    const path = join(VECTORS, 'weights.pth'), file = fileAccess(path);
    // the file's reads, recorded: which buffer each one landed in
    const buffers: ArrayBufferLike[] = [];
    const recorded: RandomAccess = {
      size: file.size,
      read(offset, length, into) {
        const b = file.read(offset, length, into);
        buffers.push(b.buffer);
        return b;
      },
      close: () => file.close(),
    };
    const src = new PthSource(path, recorded);
    const names = [...src.tensors.keys()].filter((n) => src.tensors.get(n)!.shape.reduce((a, b) => a * b, 1) >= 8).slice(0, 3);
    assert.ok(names.length >= 2);
    const whole = names.map((n) => src.read(n));
    buffers.length = 0;
    // alternate between tensors, a few elements at a time, so a kept view of a shared buffer would show
    const parts = names.map((n) => new Float32Array(src.tensors.get(n)!.shape.reduce((a, b) => a * b, 1)));
    const step = 3;
    for (let at = 0; parts.some((p) => at < p.length); at += step) {
      parts.forEach((p, i) => {
        if (at < p.length) src.readSlice(names[i], at, p.subarray(at, Math.min(p.length, at + step)));
      });
    }
    src.close();
    parts.forEach((p, i) => assert.deepEqual(p, whole[i], names[i]));
    assert.ok(buffers.length > 10);
    assert.equal(new Set(buffers).size, 1, 'every slice read into the same buffer');
  });
});
