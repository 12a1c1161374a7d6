/** Reading torch .pth checkpoints: the reference vectors, float16 / bfloat16 / strided storages, export round trips. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/index.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { exportPth, exportSafetensors } from '../src/io/export.js';
import { detectFormat } from '../src/io/open.js';
import { PyDict, StorageRef, TensorRef } from '../src/io/pth/pyvalue.js';
import { PthSource } from '../src/io/pth/read-pth.js';
import { writePth } from '../src/io/pth/write-pth.js';
import { halfToFloat, floatToHalf, floatToBf16 } from '../src/io/dtypes.js';
import { loadModelFile, readModelWeights } from '../src/io/weights.js';
import type { BgptModel } from '../src/model/bgpt.js';
import type { BgptClassifier } from '../src/model/classifier.js';
import { ROOT, VECTORS, batchOf, maxAbsErr, vectors } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'bgpt-io-pth-'));
const FIXTURE = join(ROOT, 'test', 'fixtures', 'tiny-mixed.pth');

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

describe('torch .pth: the reference checkpoints', () => {
  it('weights.pth and weights.safetensors give identical parameters', () => {
    const a = readModelWeights(join(VECTORS, 'weights.pth')), b = readModelWeights(join(VECTORS, 'weights.safetensors'));
    assert.deepEqual(a.config, b.config);
    assert.ok(sameBits(a.params, b.params));
    assert.equal(a.meta.format, 'pth');
    assert.deepEqual(a.meta.training, { epoch: 1, bestEpoch: 1, bestEvalLoss: 0.5 });
  });

  it('a model from weights.pth gives the vector losses', () => {
    const m = loadModelFile(tsKernels, join(VECTORS, 'weights.pth'));
    assert.equal(m.kind, 'generative');
    for (const c of vectors.cases) {
      const r = (m.model as BgptModel).forward(batchOf(c));
      assert.ok(Math.abs(r.loss - c.loss) / c.loss <= 1e-5, `${c.name}: ${r.loss} vs ${c.loss}`);
    }
  });

  for (const f of ['cls.pth', 'cls.safetensors']) {
    it(`${f} gives the classifier logits`, () => {
      const m = loadModelFile(tsKernels, join(VECTORS, f));
      assert.equal(m.kind, 'classification');
      const x = vectors.classifier.input, S = m.config.patchSize;
      const r = (m.model as BgptClassifier).forward({ tokens: Int32Array.from(x), masks: new Uint8Array(x.length / S).fill(1), B: 1, N: x.length / S });
      assert.ok(maxAbsErr(r.logits, vectors.classifier.logits) <= 1e-6);
      if (f === 'cls.pth') assert.deepEqual((m.task as { labels: string[] }).labels, ['a.txt', 'b.txt', 'c.txt']);
    });
  }

  it('dispatches on content, not on the file name', () => {
    assert.equal(detectFormat(join(VECTORS, 'weights.pth')), 'pth');
    assert.equal(detectFormat(join(VECTORS, 'weights.safetensors')), 'safetensors');
  });
});

describe('torch .pth: storages of other types and shapes (fixture made by torch)', () => {
  it('float16, bfloat16, a transposed view, a storage offset and the tied lm_head read exactly', () => {
    const src = new PthSource(FIXTURE);
    try {
      const ref = (src.root as PyDict).get('ref') as PyDict;
      const dtypes = new Set([...src.tensors.values()].map((t) => t.dtype));
      for (const d of ['F32', 'F16', 'BF16', 'U8']) assert.ok(dtypes.has(d as never), `fixture has ${d}`);
      const strided = src.refs.get('patch_level_decoder.base.h.0.attn.c_attn.weight')!;
      assert.deepEqual(strided.stride, [1, 8]);
      assert.ok(src.refs.get('patch_level_decoder.base.h.0.mlp.c_fc.weight')!.offset > 0);
      let n = 0;
      for (const [k, v] of ref.map) {
        const want = src.readRef(String(k), v as TensorRef);
        assert.ok(sameBits(src.read(String(k)), want), String(k));
        n++;
      }
      assert.ok(n > 20);
    } finally {
      src.close();
    }
    const w = readModelWeights(FIXTURE);
    assert.deepEqual(w.config, { patchSize: 1, patchLength: 4, hidden: 8, patchLayers: 1, byteLayers: 1, heads: 1 });
  });
});

describe('torch .pth: our writer', () => {
  it('f16 and bf16 exports read back as the rounded parameters', () => {
    const ck = loadCheckpoint(join(VECTORS, 'weights.pth'));
    for (const [dtype, conv] of [['F16', (x: number) => halfToFloat(floatToHalf(x))], ['BF16', (x: number) => new Float32Array(new Uint32Array([floatToBf16(x) << 16]).buffer)[0]]] as const) {
      const p = join(tmp, `w-${dtype}.pth`);
      exportPth(p, ck, { dtype });
      const back = readModelWeights(p);
      const want = Float32Array.from(ck.params, conv);
      assert.ok(sameBits(back.params, want), dtype);
      const st = join(tmp, `w-${dtype}.safetensors`);
      exportSafetensors(st, ck, { dtype });
      assert.ok(sameBits(readModelWeights(st).params, want), `${dtype} safetensors`);
    }
  });

  it('half conversion is exact on every half value and rounds to nearest even', () => {
    for (let h = 0; h < 65536; h++) {
      const f = halfToFloat(h);
      if (Number.isNaN(f)) continue;
      assert.equal(floatToHalf(f), h, `half 0x${h.toString(16)}`);
    }
    assert.equal(floatToHalf(1 + 2 ** -11), floatToHalf(1)); // tie → even
    assert.equal(floatToHalf(1 + 3 * 2 ** -11), floatToHalf(1 + 2 ** -9)); // tie → even (up)
    assert.equal(floatToHalf(65520), 0x7c00); // overflow → inf
    assert.equal(floatToBf16(1 + 2 ** -8), 0x3f80);
    assert.equal(floatToBf16(1 + 3 * 2 ** -8), 0x3f82);
  });

  it('a bare state dict with a DDP "module." prefix and a non-contiguous storage loads', () => {
    const src = readModelWeights(join(VECTORS, 'weights.safetensors'));
    const sd = new PyDict(true);
    const storages = new Map<string, () => Uint8Array>();
    let key = 0;
    for (const s of src.layout.specs) {
      const data = src.params.subarray(s.offset, s.offset + s.size);
      if (s.shape.length === 2) {
        // store the transpose contiguously and describe the tensor as its transposed view
        const [r, c] = s.shape, t = new Float32Array(r * c);
        for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = data[i * c + j];
        const st = new StorageRef(String(key++), 'F32', 'cuda:0', r * c);
        storages.set(st.key, () => new Uint8Array(t.buffer));
        sd.map.set(`module.${s.name}`, new TensorRef(st, 0, [r, c], [1, r]));
      } else {
        const st = new StorageRef(String(key++), 'F32', 'cpu', data.length + 3);
        const padded = new Float32Array(data.length + 3);
        padded.set(data, 3);
        storages.set(st.key, () => new Uint8Array(padded.buffer));
        sd.map.set(`module.${s.name}`, new TensorRef(st, 3, s.shape, s.shape.length ? [1] : []));
      }
    }
    const p = join(tmp, 'bare.pth');
    writePth(p, sd, storages, 'bare');
    const back = readModelWeights(p);
    assert.ok(sameBits(back.params, src.params));
    assert.equal(back.meta.training, undefined);
  });
});
