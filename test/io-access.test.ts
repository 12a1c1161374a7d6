/** The readers over bytes in memory (as the browser reads a fetched file) give what they give from disk. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bytesAccess } from '../src/io/access.js';
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
