/** The cached attention kernel, batched decoding against decoding alone, and generation past the context. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/types.js';
import { headerPatch } from '../src/data/patches.js';
import { BgptModel } from '../src/model/bgpt.js';
import { VOCAB } from '../src/model/config.js';
import { CachedDecoder } from '../src/model/generator.js';
import { MASK_VALUE } from '../src/nn/attention.js';
import { continueMany } from '../src/api/generate.js';
import { scoringWindows } from '../src/api/score.js';
import { evaluateFiles } from '../src/tasks/eval.js';
import { filePatches } from '../src/data/patches.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/util/rng.js';
import { everyBackend, maxAbsErr, recomputeProbs } from './helpers.js';

const randn = (n: number, rng: Rng) => Float32Array.from({ length: n }, () => rng.normal());

for (const { name, kernels: k, skip } of everyBackend()) {
  describe(`attentionCached (${name})`, { skip }, () => {
    it('equals full-sequence attention on the new rows, for slots of different lengths', () => {
      const rng = new Rng(5), H = 32, nHead = 2, T = 2, cap = 9, slots = Int32Array.of(2, 0, 1), past = Int32Array.of(0, 3, 7);
      const B = slots.length, keys = randn(3 * cap * H, rng), values = randn(3 * cap * H, rng);
      // the full sequences: past rows (their k, v go into the cache first) then the T new rows
      const full = [...past].map((p) => randn((p + T) * 3 * H, rng));
      for (let b = 0; b < B; b++) {
        for (let u = 0; u < past[b]; u++) {
          keys.set(full[b].subarray(u * 3 * H + H, u * 3 * H + 2 * H), (slots[b] * cap + u) * H);
          values.set(full[b].subarray(u * 3 * H + 2 * H, u * 3 * H + 3 * H), (slots[b] * cap + u) * H);
        }
      }
      const qkv = new Float32Array(B * T * 3 * H);
      for (let b = 0; b < B; b++) qkv.set(full[b].subarray(past[b] * 3 * H), b * T * 3 * H);
      const out = new Float32Array(B * T * H);
      k.attentionCached(out, qkv, keys, values, slots, past, B, T, H, nHead, cap);
      for (let b = 0; b < B; b++) {
        const n = past[b] + T, want = new Float32Array(n * H);
        tsKernels.attentionForward(want, new Float32Array(nHead * n * n), full[b], null, 1, n, H, nHead, MASK_VALUE);
        assert.ok(maxAbsErr(out.subarray(b * T * H, (b + 1) * T * H), want.subarray(past[b] * H)) <= 1e-5, `sequence ${b}`);
        // the new keys and values were appended to the slot
        const at = (slots[b] * cap + past[b] + T - 1) * H, r = (past[b] + T - 1) * 3 * H;
        assert.deepEqual(keys.subarray(at, at + H), full[b].subarray(r + H, r + 2 * H));
        assert.deepEqual(values.subarray(at, at + H), full[b].subarray(r + 2 * H, r + 3 * H));
      }
    });

    it('rejects a cache overflow and repeated slots', () => {
      const H = 8, f = (n: number) => new Float32Array(n);
      assert.throws(() => k.attentionCached(f(2 * H), f(2 * 3 * H), f(4 * H), f(4 * H), Int32Array.of(0), Int32Array.of(3), 1, 2, H, 1, 4));
      if (k.name === 'native') assert.throws(() => k.attentionCached(f(2 * H), f(2 * 3 * H), f(8 * H), f(8 * H), Int32Array.of(0, 0), Int32Array.of(0, 0), 2, 1, H, 1, 4), /distinct/);
    });
  });

  describe(`batched decoding (${name})`, { skip }, () => {
    const cfg = { patchSize: 4, patchLength: 6, hidden: 32, patchLayers: 2, byteLayers: 2, heads: 2 };

    it("each stream's next-byte distributions equal decoding it alone", () => {
      const rng = new Rng(3), m = new BgptModel(k as Kernels, cfg, { rng });
      const prompts = [1, 3, 2].map((n) => Int32Array.from({ length: n * 4 }, () => rng.int(257)));
      const batch = new CachedDecoder(m, 3), slots = Int32Array.of(1, 2, 0);
      prompts.forEach((p, b) => batch.pushPatches(slots.subarray(b, b + 1), p));
      const alone = prompts.map((p) => {
        const d = new CachedDecoder(m);
        d.pushPatches(Int32Array.of(0), p);
        return d;
      });
      for (let patch = 0; patch < 2; patch++) {
        let toks = Int32Array.of(-1, -1, -1);
        for (let i = 0; i < 4; i++) {
          const probs = batch.step(slots, toks).slice();
          for (let b = 0; b < 3; b++) {
            const want = alone[b].step(Int32Array.of(0), toks.subarray(b, b + 1));
            assert.ok(maxAbsErr(probs.subarray(b * VOCAB, (b + 1) * VOCAB), want) <= 1e-5, `patch ${patch} byte ${i} stream ${b}`);
          }
          toks = Int32Array.from({ length: 3 }, () => rng.int(256));
          if (i === 3) {
            const next = Int32Array.from({ length: 12 }, () => rng.int(256));
            batch.pushPatches(slots, next);
            alone.forEach((d, b) => d.pushPatches(Int32Array.of(0), next.subarray(b * 4, b * 4 + 4)));
          }
        }
      }
    });

    it('a batch of streams that join and leave generates what each generates alone', () => {
      const m = new BgptModel(k as Kernels, cfg, { rng: new Rng(8) });
      const prompts = [headerPatch('txt', 4), headerPatch('bmp', 4), Int32Array.of(...headerPatch('abc', 4), 1, 2, 3, 4)].map((context) => ({ context, partial: [] }));
      const o = { topK: 0, topP: 1, temperature: 1, maxBytes: 9 };
      const rngs = () => [new Rng(1), new Rng(2), new Rng(3)];
      // two slots for three prompts: the third joins when the first stream ends
      const together = continueMany(m, prompts, { ...o, rngs: rngs() }, 2);
      const alone = prompts.map((p, i) => continueMany(m, [p], { ...o, rngs: [rngs()[i]] })[0]);
      assert.deepEqual(together, alone);
    });

    it('slides its window past L patches, each patch predicted from the window a recompute would use', () => {
      const m = new BgptModel(k as Kernels, cfg, { rng: new Rng(9) }), { patchSize: S, patchLength: L } = cfg;
      const argmax = (p: Float32Array) => p.indexOf(Math.max(...p.subarray(0, 256)));
      const maxBytes = 3 * L * S;
      const got = continueMany(m, [{ context: headerPatch('txt', S), partial: [] }], { topK: 1, topP: 1, temperature: 1, noEnd: true, slide: true, maxBytes, rngs: [new Rng(0)] })[0];
      assert.equal(got.bytes.length, maxBytes);
      // reference: the window is the whole context until L − 1 patches would be exceeded, then its last ⌊L/2⌋
      const ctx: number[] = [...headerPatch('txt', S)], want: number[] = [];
      let start = 0;
      while (want.length < maxBytes) {
        const patch: number[] = [];
        while (patch.length < S) patch.push(argmax(recomputeProbs(m, ctx.slice(start * S), patch)));
        want.push(...patch);
        ctx.push(...patch);
        if (ctx.length / S - start >= L) start = ctx.length / S - Math.floor(L / 2);
      }
      assert.deepEqual([...got.bytes], want.slice(0, maxBytes));
    });
  });
}

describe('scoring whole files', () => {
  it('windows score every target patch once, each with at least half a window of context', () => {
    for (const L of [2, 3, 8, 9]) {
      for (let n = 1; n <= 40; n++) {
        const seen = new Array(n).fill(0);
        for (const w of scoringWindows(n, L)) {
          assert.ok(w.end - w.start <= L && w.end <= n);
          for (let t = Math.max(1, w.start + w.from); t < w.end; t++) {
            seen[t]++;
            if (w.start > 0) assert.ok(t - w.start >= Math.ceil(L / 2), `L ${L} n ${n} target ${t}`);
          }
        }
        assert.deepEqual(seen, [0, ...new Array(n - 1).fill(1)], `L ${L} n ${n}`);
      }
    }
  });

  for (const { name, kernels: k, skip } of everyBackend()) {
    it(`eval --whole equals cached decoding over the same windows (${name})`, { skip }, () => {
      const cfg = { patchSize: 4, patchLength: 6, hidden: 32, patchLayers: 2, byteLayers: 1, heads: 2 };
      const m = new BgptModel(k as Kernels, cfg, { rng: new Rng(12) }), rng = new Rng(1), { patchSize: S, patchLength: L } = cfg;
      const dir = mkdtempSync(join(tmpdir(), 'bgpt-whole-'));
      const bytes = Uint8Array.from({ length: 61 }, () => rng.int(256)), path = join(dir, 'a.txt'), short = join(dir, 'b.txt');
      writeFileSync(path, bytes);
      writeFileSync(short, bytes.subarray(0, 9));
      const r = evaluateFiles(m, [path, short], { whole: true });
      const head = evaluateFiles(m, [short]);
      assert.ok(Math.abs(r.files[1].loss - head.files[0].loss) <= 1e-6, 'a file within the context scores as with head truncation');
      // independently: every target patch's bytes through the cached decoder, in the window that scores it
      const all = filePatches(bytes, 'txt', S), n = all.length / S;
      let sum = 0, tokens = 0;
      for (const w of scoringWindows(n, L)) {
        for (let t = Math.max(1, w.start + w.from); t < w.end; t++) {
          const d = new CachedDecoder(m), one = Int32Array.of(0);
          d.pushPatches(one, all.subarray(w.start * S, t * S));
          let probs = d.step(one, Int32Array.of(-1));
          for (let i = 0; i < S; i++) {
            const tok = all[t * S + i];
            sum -= Math.log(probs[tok]);
            tokens++;
            if (i < S - 1) probs = d.step(one, Int32Array.of(tok));
          }
        }
      }
      assert.equal(r.files[0].tokens, tokens);
      assert.ok(Math.abs(r.files[0].loss - sum / tokens) <= 1e-5, `${r.files[0].loss} vs ${sum / tokens}`);
      assert.ok(tokens > (L - 1) * S, 'the file is longer than the context');
    });
  }
});
