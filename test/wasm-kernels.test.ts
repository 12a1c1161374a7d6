/** The WebAssembly backend (run here in Node's WebAssembly): its matrix products against the TypeScript reference. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/ts/kernels.js';
import { wasmKernels } from '../src/backend/wasm/kernels.js';
import { loadModelFile } from '../src/io/weights.js';
import type { BgptModel } from '../src/model/bgpt.js';
import { Rng } from '../src/util/rng.js';
import { ROOT, VECTORS, relErr, vectors } from './helpers.js';

const wasm = wasmKernels(new WebAssembly.Module(readFileSync(join(ROOT, 'src', 'backend', 'wasm', 'kernels.wasm'))));

function rand(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

describe('wasm kernels', () => {
  const rng = new Rng(3);
  // shapes that exercise the 4-row and 8-column blocks and every tail
  const shapes = [[1, 1, 1], [1, 768, 40], [4, 64, 8], [5, 33, 17], [13, 7, 29], [64, 64, 257]];
  for (const [M, K, N] of shapes) {
    for (const transB of [false, true]) {
      it(`matmul ${M}×${K}×${N}${transB ? ' (B transposed)' : ''}, with bias and accumulating`, () => {
        const A = rand(rng, M * K), B = rand(rng, K * N), bias = rand(rng, N), C0 = rand(rng, M * N);
        for (const [b, acc] of [[null, false], [bias, true]] as const) {
          const want = C0.slice(), got = C0.slice();
          tsKernels.matmul(want, A, B, b, M, K, N, false, transB, acc);
          wasm.matmul(got, A, B, b, M, K, N, false, transB, acc);
          assert.ok(relErr(got, want) <= 1e-5, `rel err ${relErr(got, want)}`);
        }
      });
    }
  }

  it('reads pinned weights from its own copy, and the pin is a snapshot', () => {
    const M = 3, K = 20, N = 12, W = rand(rng, 10 + K * N + N), A = rand(rng, M * K);
    const B = W.subarray(10, 10 + K * N), bias = W.subarray(10 + K * N);
    wasm.pin(W);
    const want = new Float32Array(M * N), got = new Float32Array(M * N);
    tsKernels.matmul(want, A, B, bias, M, K, N, false, false, false);
    wasm.matmul(got, A, B, bias, M, K, N, false, false, false);
    assert.ok(relErr(got, want) <= 1e-5);
    B.fill(0); // not seen until pinned again
    wasm.matmul(got, A, B, bias, M, K, N, false, false, false);
    assert.ok(relErr(got, want) <= 1e-5);
    wasm.pin(W);
    wasm.matmul(got, A, B, bias, M, K, N, false, false, false);
    assert.deepEqual(got, Float32Array.from({ length: M * N }, (_, i) => bias[i % N])); // B is zero now
  });

  it('gives the reference vectors\' losses with pinned weights', () => {
    const m = loadModelFile(wasm, join(VECTORS, 'weights.safetensors')).model as BgptModel;
    wasm.pin(m.params.data);
    for (const c of vectors.cases) {
      const B = c.inputs.length, N = c.masks[0].length;
      const r = m.forward({ tokens: Int32Array.from(c.inputs.flat()), masks: Uint8Array.from(c.masks.flat()), B, N });
      assert.ok(Math.abs(r.loss - c.loss) / c.loss <= 1e-5, `${c.name}: ${r.loss} vs ${c.loss}`);
    }
  });
});
