/**
 * Lossless compression (src/compress, docs/compression.md): the range coder alone, the exact kernels equal bit
 * for bit between TypeScript and native at every thread count, round trips of awkward lengths, storing random
 * data, refusing corrupt files and the wrong model, and compress/decompress across backends in child processes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/index.js';
import { expExact, loadNativeExact, tanhExact, tsExact, type ExactKernels } from '../src/backend/exact/index.js';
import { loadNative } from '../src/backend/native/index.js';
import { compressBytes, decompressBytes, decompressMany, MAX_LANES, modelId, useHash } from '../src/compress/codec.js';
import { Sha256 } from '../src/util/sha256.js';
import { floatToHalf, halfToFloat } from '../src/io/dtypes.js';
import { nodeHash } from '../src/tasks/compress.js';
import { asHalves, ExactBgpt } from '../src/compress/exact-model.js';
import { RangeDecoder, RangeEncoder } from '../src/compress/range-coder.js';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { BgptModel } from '../src/model/bgpt.js';
import { BgptClassifier } from '../src/model/classifier.js';
import { BYTE_PREFIX } from '../src/model/params.js';
import type { BgptConfig } from '../src/model/config.js';
import { Rng } from '../src/util/rng.js';
import { ROOT } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'bgpt-compress-'));
const CFG: BgptConfig = { patchSize: 4, patchLength: 8, hidden: 32, patchLayers: 1, byteLayers: 1, heads: 2 };
const S = CFG.patchSize, L = CFG.patchLength;
const native = loadNativeExact();
const nativeSkip = 'error' in native ? `native backend not built: ${native.error}` : false;
const LETTERS = 'abcdefghijklmnopqrstuvwxyz \n';

/**
 * A small random model whose byte-level head favours letters, spaces and newlines (so text compresses and
 * the coded path is taken) while every logit still depends on the whole network.
 */
function craftedModel(seed: number): BgptModel {
  const rng = new Rng(seed), m = new BgptModel(tsKernels, CFG, { rng }), H = CFG.hidden;
  m.params.w(`${BYTE_PREFIX}ln_f.bias`).fill(1);
  const wte = m.params.w(`${BYTE_PREFIX}wte.weight`);
  for (let v = 0; v < 257; v++) {
    const good = v < 256 && LETTERS.includes(String.fromCharCode(v));
    for (let i = 0; i < H; i++) wte[v * H + i] = (good ? 0.15 : -0.15) + 0.05 * rng.normal();
  }
  return m;
}

function text(n: number, seed: number): Buffer {
  const rng = new Rng(seed), words = ['the', 'byte', 'model', 'reads', 'patches', 'of', 'a', 'file'];
  let s = '';
  while (s.length < n) s += words[rng.int(words.length)] + (rng.int(6) === 0 ? '\n' : ' ');
  return Buffer.from(s.slice(0, n));
}

function randomBytes(n: number, seed: number): Buffer {
  const rng = new Rng(seed), b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

const model = craftedModel(1);
const bits = (a: Float32Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('range coder', () => {
  it('round-trips skewed and flat frequency tables, reading all it wrote and its dropped trailing zeros as zeros', () => {
    const rng = new Rng(3);
    for (const n of [0, 1, 2, 17, 3000]) {
      const tables: Int32Array[] = [], syms: number[] = [], enc = new RangeEncoder();
      for (let i = 0; i < n; i++) {
        const f = Int32Array.from({ length: 256 }, () => 1 + (rng.int(2) ? rng.int(300) : 0));
        if (rng.int(2)) f[42] = 65000;
        const s = rng.int(4) ? 42 : rng.int(256);
        tables.push(f);
        syms.push(s);
        enc.encode(f, s);
      }
      const data = enc.finish(), dec = new RangeDecoder(data);
      assert.deepEqual(tables.map((f) => dec.decode(f)), syms);
      assert.ok(dec.consumed >= data.length && dec.consumed <= data.length + 4, `${dec.consumed} of ${data.length}`);
      assert.ok(data.length === 0 || data[data.length - 1] !== 0, 'no trailing zero stored');
    }
  });

  it('codes a very likely symbol in a fraction of a bit', () => {
    const f = new Int32Array(256).fill(1);
    f[7] = 65280;
    const enc = new RangeEncoder();
    for (let i = 0; i < 8000; i++) enc.encode(f, 7);
    assert.ok(enc.finish().length < 8000 * 0.01, 'about 0.0056 bits per symbol');
  });
});

describe('exact kernels: TypeScript and native give the same bits', { skip: nativeSkip }, () => {
  const nat = native as Exclude<typeof native, { error: string }>;
  const setThreads = (n: number) => {
    const r = loadNative();
    if (!('error' in r)) r.setThreads(n);
  };

  it('exp and tanh on edge values', () => {
    const xs = [0, -0, 1, -1, 1e-30, -87.3, -87.33, -87.34, -87.5, -100, 88, 88.5, 100, 0.5, 1e-8, 30, -30, 10, 10.5, NaN];
    const rng = new Rng(5);
    for (let i = 0; i < 2000; i++) xs.push(Math.fround((rng.next() - 0.5) * 200));
    for (const x of xs) {
      const e = Math.fround(x);
      assert.ok(Object.is(nat.exp(e), expExact(e)), `exp(${e})`);
      assert.ok(Object.is(nat.tanh(e), tanhExact(e)), `tanh(${e})`);
    }
  });

  for (const threads of [1, 2]) {
    it(`every kernel on random shapes, ${threads} thread(s)`, () => {
      setThreads(threads);
      const rng = new Rng(7 + threads), rnd = (n: number, s = 1) => Float32Array.from({ length: n }, () => rng.normal() * s);
      const both = (f: (k: ExactKernels) => Float32Array | Int32Array) => assert.ok(bits(f(tsExact)).equals(bits(f(nat))));
      for (const [R, K, N] of [[1, 32, 96], [37, 64, 256], [200, 48, 130], [13, 40, 1024]]) {
        const x = rnd(R * K, 3), w = rnd(K * N, 0.5), b = rnd(N), g = rnd(K), gb = rnd(K);
        both((k) => { const o = new Float32Array(R * N); k.linear(o, x, w, b, R, K, N); return o; });
        both((k) => { const o = new Float32Array(R * N); k.linear(o, x, w, null, R, K, N); return o; });
        both((k) => { const o = new Float32Array(R * K); k.layerNorm(o, x, g, gb, R, K); return o; });
        both((k) => { const o = new Float32Array(R * K); k.gelu(o, x, R * K); return o; });
        const ld = N + 16, wp = rnd(K * ld, 0.5); // rows of w further apart than N (the padded weights)
        both((k) => { const o = new Float32Array(R * N); k.linear(o, x, wp, b, R, K, N, ld); return o; });
        // weights as IEEE halves (normal, subnormal, ±0): the same bits as linear on their float values
        const h = Uint16Array.from({ length: K * ld }, (_, i) => (i % 11 === 0 ? rng.int(0x400) | (i % 2 ? 0x8000 : 0) : floatToHalf(rng.normal() * 0.5)));
        const hf = Float32Array.from(h, halfToFloat), o16 = new Float32Array(R * N), o32 = new Float32Array(R * N);
        nat.linear16(o16, x, h, b, R, K, N, ld);
        tsExact.linear(o32, x, hf, b, R, K, N, ld);
        assert.ok(bits(o16).equals(bits(o32)), `linear16 ${R}×${K}×${N}`);
      }
      const edges = Float32Array.from([0, -0, 1e-30, -1e-30, 5, -5, 9.9, 10.1, 30, -30, 90, -90, 1e30, -1e30, Infinity, -Infinity, NaN, 3e-39]);
      both((k) => { const o = new Float32Array(edges.length); k.gelu(o, edges, edges.length); return o; });
      const big = rnd(40000, 4); // past one thread's share: the vector loop and the threads
      both((k) => { const o = new Float32Array(big.length); k.gelu(o, big, big.length - 3); return o; });
      for (const [B, R, past, H, heads, scale] of [[1, 1, 7, 32, 2, 2], [1, 5, 0, 64, 4, 2], [30, 8, 0, 32, 2, 2], [1, 3, 60, 128, 2, 2], [1, 2, 250, 64, 1, 12]]) {
        // the last: scores far apart (most weights underflow to 0) over 252 positions, a NaN in one query
        const qkv = rnd(B * R * 3 * H, scale), cache = rnd((past + R) * 2 * H, scale);
        if (scale > 2) qkv[H + 3] = NaN;
        both((k) => { const o = new Float32Array(B * R * H); k.attend(o, qkv, qkv.subarray(H), 3 * H, B, R, 0, H, heads); return o; });
        if (B === 1) both((k) => { const o = new Float32Array(R * H); k.attend(o, qkv, cache, 2 * H, 1, R, past, H, heads); return o; });
      }
      // several caches in one array: sequence b in slot slots[b] with its own past (the decoder's lanes)
      for (const [B, R, H, heads, cap] of [[3, 1, 32, 2, 12], [5, 2, 64, 4, 40], [9, 1, 128, 2, 70]]) {
        const slots = Int32Array.from({ length: B }, (_, b) => (b * 7 + 3) % (B + 2));
        const pasts = Int32Array.from({ length: B }, (_, b) => (b * 5) % (cap - R + 1));
        const qkv = rnd(B * R * 3 * H, 2), kv = rnd((B + 2) * cap * 2 * H, 2);
        const lanes = (k: ExactKernels) => { const o = new Float32Array(B * R * H); k.attend(o, qkv, kv, 2 * H, B, R, 0, H, heads, cap, slots, pasts); return o; };
        both(lanes);
        // each sequence as it would be alone, on a copy of its own cache
        const alone = new Float32Array(B * R * H);
        for (let b = 0; b < B; b++) {
          const own = kv.slice(slots[b] * cap * 2 * H, (slots[b] * cap + pasts[b] + R) * 2 * H);
          tsExact.attend(alone.subarray(b * R * H, (b + 1) * R * H), qkv.subarray(b * R * 3 * H, (b + 1) * R * 3 * H), own, 2 * H, 1, R, pasts[b], H, heads);
        }
        assert.ok(bits(lanes(nat)).equals(bits(alone)));
      }
      const R = 50, H = 32, wT = rnd(S * 257 * H), bias = rnd(H), tok = Int32Array.from({ length: R * S }, () => rng.int(257));
      both((k) => { const o = new Float32Array(R * H); k.patchEmbed(o, wT, bias, tok, R, S, H, 257); return o; });
      const logits = rnd(300 * 256, 6);
      logits.fill(-200, 0, 100); // far below the maximum: exp underflows to 0, frequency 1
      logits[300] = NaN;
      both((k) => { const o = new Int32Array(300 * 256); k.freqs(o, logits, 300); return o; });
      setThreads(2);
    });
  }
});

describe('compress / decompress', () => {
  const ex = new ExactBgpt(tsExact, model);
  const rt = (data: Uint8Array, store: 'auto' | 'never' = 'never') => {
    const c = compressBytes(ex, data, 'txt', { store });
    const back = decompressBytes(ex, c);
    assert.ok(Buffer.from(back.bytes).equals(Buffer.from(data)), `round trip of ${data.length} bytes`);
    assert.equal(back.ext, 'txt');
    return c;
  };

  it('round-trips empty, 1-byte, S, L·S and multi-window files byte for byte', () => {
    for (const n of [0, 1, S - 1, S, S + 1, L * S - 1, L * S, L * S + 1, (L - 1) * S, 700]) rt(text(n, n));
    rt(randomBytes(300, 2)); // bytes the model finds unlikely still code
  });

  it('compresses text the model predicts, and stores what it cannot', () => {
    const t = text(2000, 9), c = rt(t, 'auto');
    assert.ok(c.length < t.length * 0.8, `${c.length} of ${t.length}`);
    const r = randomBytes(500, 4), cr = rt(r, 'auto');
    assert.ok(cr.length <= r.length + 40, `random: ${cr.length} of ${r.length}`);
  });

  it('codes or stores each block on its own', () => {
    const mixed = Buffer.concat([text(300, 1), randomBytes(200, 2), text(300, 3)]);
    const one = compressBytes(ex, mixed, 'txt', { store: 'auto' });
    const blocks = compressBytes(ex, mixed, 'txt', { store: 'auto', blockBytes: 64 });
    assert.ok(Buffer.from(decompressBytes(ex, blocks).bytes).equals(mixed));
    assert.ok(blocks.length < one.length, `random blocks stored: ${blocks.length} < ${one.length}`);
  });

  it('a repeat farther back than the model\'s context costs a fraction of its first copy (the match model)', () => {
    // 32 bytes of context: the byte model alone cannot see the first copy from the second
    const a = randomBytes(800, 7), once = rt(a).length, twice = rt(Buffer.concat([a, a])).length;
    assert.ok(twice - once < 0.1 * once, `second copy ${twice - once} bytes, first ${once}`);
    // a repeat interrupted by changed bytes picks the match up again
    const edited = Buffer.from(a);
    for (let i = 50; i < 800; i += 100) edited[i] ^= 0x55;
    assert.ok(rt(Buffer.concat([a, edited])).length - once < 0.2 * once);
  });

  it('reads modelled blocks of files made before matched blocks (the byte model alone)', () => {
    const old = readFileSync(join(ROOT, 'test', 'fixtures', 'method1-text2000.bgpz'));
    assert.ok(Buffer.from(decompressBytes(ex, old).bytes).equals(text(2000, 9)));
  });

  it('stores ≥ 1 MB of random bytes with bounded expansion', () => {
    const r = randomBytes(1 << 20, 6), c = rt(r, 'auto');
    assert.ok(c.length <= r.length * 1.005 + 64, `${c.length} of ${r.length}`);
  });

  it('the encoder (batched) and decoder (cached) agree on native as on TypeScript', { skip: nativeSkip }, () => {
    const nex = new ExactBgpt(native as ExactKernels, model), t = text(900, 11);
    const c = compressBytes(ex, t, 'txt', { store: 'never' });
    assert.ok(Buffer.from(compressBytes(nex, t, 'txt', { store: 'never' })).equals(Buffer.from(c)));
    assert.ok(Buffer.from(decompressBytes(nex, c).bytes).equals(t));
  });

  it('the model id is the same from node:crypto as from the hash the page uses', () => {
    const fromNode = Buffer.from(modelId(craftedModel(3)));
    useHash(() => new Sha256());
    try {
      assert.ok(Buffer.from(modelId(craftedModel(3))).equals(fromNode)); // a new model: ids are kept per model
    } finally {
      useHash(nodeHash);
    }
  });

  it('cuts a longer file into segments coded on their own (version 3); a file of one segment is version 2', () => {
    const t = text(3000, 21);
    const seg = compressBytes(ex, t, 'txt', { store: 'never', segmentBytes: 256 }), whole = compressBytes(ex, t, 'txt', { store: 'never', segmentBytes: 0 });
    assert.equal(seg[2], 3);
    assert.equal(whole[2], 2);
    assert.ok(Buffer.from(decompressBytes(ex, seg).bytes).equals(t));
    // the size cost of 12 segments of 256 bytes: each restarts its context and its match model
    assert.ok(seg.length > whole.length && seg.length < whole.length * 1.5, `${seg.length} against ${whole.length}`);
    const short = text(200, 22);
    assert.ok(Buffer.from(compressBytes(ex, short, 'txt', { segmentBytes: 256 })).equals(Buffer.from(compressBytes(ex, short, 'txt', { segmentBytes: 0 }))));
    // a segment length that is not whole patches is rounded down; stored and coded segments mix
    const mixed = Buffer.concat([text(500, 23), randomBytes(600, 24), text(500, 25)]);
    for (const segmentBytes of [S, 101, 512]) {
      const c = compressBytes(ex, mixed, 'txt', { store: 'auto', segmentBytes, blockBytes: 64 });
      assert.ok(Buffer.from(decompressBytes(ex, c).bytes).equals(mixed), `segments of ${segmentBytes}`);
    }
  });

  it('decodes many files side by side, each to the bytes it decodes to alone, a corrupt one failing alone', () => {
    // more files than lanes (slots are reused), lengths from 0 to several segments, stored and coded blocks
    const inputs = Array.from({ length: MAX_LANES + 9 }, (_, i) => (i % 7 === 3 ? randomBytes(40 + 13 * i, i) : text((i * 97) % 1300, 100 + i)));
    inputs.push(Buffer.alloc(0), text(2500, 7));
    const containers = inputs.map((d, i) => compressBytes(ex, d, i % 2 ? 'txt' : 'md', { store: 'auto', segmentBytes: i % 3 ? 512 : 0 }));
    const bad = Uint8Array.from(containers[5]);
    bad[bad.length - 2] ^= 0x20;
    const kernels: ExactKernels[] = nativeSkip ? [tsExact] : [tsExact, native as ExactKernels];
    for (const k of kernels) {
      const kex = new ExactBgpt(k, model), all = decompressMany(kex, [...containers, bad]);
      inputs.forEach((d, i) => {
        const r = all[i];
        assert.ok(!(r instanceof Error) && Buffer.from(r.bytes).equals(d), `${k.name}: file ${i} of ${d.length} bytes`);
        assert.equal(r.ext, i % 2 ? 'txt' : 'md');
      });
      assert.ok(all[all.length - 1] instanceof Error && /corrupt/.test((all[all.length - 1] as Error).message));
    }
  });

  it('takes weights as halves exactly when every value is a finite half', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = halfToFloat(h), got = asHalves(Float32Array.of(v));
      if (Number.isFinite(v)) assert.equal(got?.[0], h, `half ${h.toString(16)}`);
      else assert.equal(got, null);
    }
    for (const v of [1 + 2 ** -11, 2 ** -25, 3 * 2 ** -26, 65520, 1e-8, 0.1]) assert.equal(asHalves(Float32Array.of(1, v)), null, `${v}`);
  });

  it('a model stored in 16 bits codes the same on native (weights read as halves) as on TypeScript', { skip: nativeSkip }, () => {
    const m16 = craftedModel(4);
    for (const s of m16.layout.specs) {
      const w = m16.params.w(s.name);
      for (let i = 0; i < w.length; i++) w[i] = halfToFloat(floatToHalf(w[i]));
    }
    const t = text(1500, 31), c = compressBytes(new ExactBgpt(tsExact, m16), t, 'txt', { store: 'never', segmentBytes: 512 });
    const nex = new ExactBgpt(native as ExactKernels, m16);
    assert.ok(Buffer.from(compressBytes(nex, t, 'txt', { store: 'never', segmentBytes: 512 })).equals(Buffer.from(c)));
    assert.ok(Buffer.from(decompressBytes(nex, c).bytes).equals(t));
  });

  it('refuses a corrupted byte, a truncated file, another format and another model with one clear line', () => {
    const t = text(400, 12), c = compressBytes(ex, t, 'txt', { store: 'never' });
    const fail = (buf: Uint8Array, m = model) => {
      try {
        decompressBytes(new ExactBgpt(tsExact, m), buf);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    for (const at of [c.length - 1, c.length - 8, 40]) {
      const bad = Uint8Array.from(c);
      bad[at] ^= 0x10;
      assert.match(fail(bad), /corrupt|truncated/, `byte ${at}`);
    }
    assert.match(fail(c.subarray(0, c.length - 3)), /corrupt|truncated/);
    assert.match(fail(c.subarray(0, 10)), /truncated/);
    assert.match(fail(Buffer.from('hello world, not compressed')), /not a \.bgpz file/);
    assert.match(fail(c, craftedModel(2)), /compressed with another model/);
    for (const m of [fail(c.subarray(0, c.length - 3)), fail(c, craftedModel(2))]) assert.ok(!m.includes('\n'));
    // segmented: a changed byte in any segment, a cut, a segment length that is not whole patches
    const t3 = text(1200, 13), c3 = compressBytes(ex, t3, 'txt', { store: 'never', segmentBytes: 256 });
    for (const at of [c3.length - 1, Math.floor(c3.length / 2), 20]) {
      const bad = Uint8Array.from(c3);
      bad[at] ^= 0x04;
      assert.match(fail(bad), /corrupt|truncated/, `segmented, byte ${at}`);
    }
    assert.match(fail(c3.subarray(0, c3.length - 40)), /corrupt|truncated/);
    const h = compressBytes(ex, t3, 'txt', { store: 'never', segmentBytes: 256 });
    const seg = h.indexOf(0x80); // the segment varint 256 = 0x80 0x02 follows the extension
    assert.ok(seg > 0 && h[seg + 1] === 2);
    h[seg] = 0x81; // 257: not a multiple of the patch size
    assert.match(fail(h), /segment length 257 is not a multiple of the patch size/);
  });
});

describe('bgpt compress / decompress (child processes)', () => {
  const ck = join(tmp, 'model.safetensors');
  saveCheckpoint(ck, { config: CFG, task: { kind: 'generative' }, params: model.params.data });
  const cli = join(ROOT, 'dist', 'cli', 'main.js'); // built by npm test's tsc
  const bgpt = (args: string[], env: Record<string, string> = {}, input?: Buffer) =>
    spawnSync(process.execPath, [cli, ...args], { cwd: ROOT, env: { ...process.env, ...env }, input, encoding: 'buffer' });

  it('compresses with one backend or thread count and decompresses with another', { skip: nativeSkip }, () => {
    const src = join(tmp, 'notes.txt');
    writeFileSync(src, text(1500, 21));
    const runs: [Record<string, string>, Record<string, string>][] = [
      [{ BGPT_BACKEND: 'ts' }, { BGPT_BACKEND: 'native', BGPT_THREADS: '2' }],
      [{ BGPT_BACKEND: 'native', BGPT_THREADS: '1' }, { BGPT_BACKEND: 'ts' }],
    ];
    for (const [a, b] of runs) {
      const c = bgpt(['compress', '--model', ck, '--out', join(tmp, 'z'), '--force', '--json', src], a);
      assert.equal(c.status, 0, c.stderr.toString());
      const j = JSON.parse(c.stdout.toString());
      assert.ok(j.total.bits_per_byte < 6.5, `coded, not stored: ${j.total.bits_per_byte}`);
      const d = bgpt(['decompress', '--model', ck, '--out', join(tmp, 'back'), '--force', join(tmp, 'z', 'notes.txt.bgpz')], b);
      assert.equal(d.status, 0, d.stderr.toString());
      assert.ok(readFileSync(join(tmp, 'back', 'notes.txt')).equals(readFileSync(src)));
    }
  });

  it('stdin to stdout, no overwriting without --force, classifiers refused', () => {
    const data = text(300, 5);
    const c = bgpt(['compress', '--model', ck, '-'], { BGPT_BACKEND: 'ts' }, data);
    assert.equal(c.status, 0, c.stderr.toString());
    const d = bgpt(['decompress', '--model', ck, '-'], { BGPT_BACKEND: 'ts' }, c.stdout);
    assert.ok(d.stdout.equals(data));
    const src = join(tmp, 'once.txt');
    writeFileSync(src, data);
    assert.equal(bgpt(['compress', '--model', ck, src], { BGPT_BACKEND: 'ts' }).status, 0);
    assert.ok(existsSync(`${src}.bgpz`));
    const again = bgpt(['compress', '--model', ck, src], { BGPT_BACKEND: 'ts' });
    assert.notEqual(again.status, 0);
    assert.match(again.stderr.toString(), /already exists \(use --force/);
    const cls = join(tmp, 'cls.safetensors');
    saveCheckpoint(cls, { config: CFG, task: { kind: 'classification', labels: ['a', 'b'] }, params: classifierParams() });
    const r = bgpt(['compress', '--model', cls, '--force', src], { BGPT_BACKEND: 'ts' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr.toString(), /classification model/);
    assert.equal(r.stderr.toString().trim().split('\n').length, 1);
  });
});

function classifierParams(): Float32Array {
  return new BgptClassifier(tsKernels, CFG, 2, { rng: new Rng(1) }).params.data;
}
