#!/usr/bin/env node
// Micro-benchmark of the kernels on the hot shapes of bench configs b and c: native vs TypeScript.
//   node scripts/bench-kernels.mjs [--no-ts] [--only SUBSTRING] [--reps N] [--quiet-wait SECONDS]
// --quiet-wait: before each case, wait (up to SECONDS) until other processes use < 0.1 core (Linux): with
// 2 cores, a busy neighbour stalls every parallel region of the kernels.
// Prints one line per case: the fastest of the timed calls in milliseconds (least disturbed by other work on
// the machine) and the median, per backend, and GFLOP/s (from the fastest) where it means something.
// The TS reference is timed once per case (it is slow); its big matmuls run on fewer rows and are scaled.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const { register } = await import('tsx/esm/api');
register();
const { tsKernels } = await import('../src/backend/ts/kernels.ts');
const { loadNative } = await import('../src/backend/native/index.ts');
const { MASK_VALUE } = await import('../src/nn/attention.ts');
const { VOCAB: V } = await import('../src/model/config.ts');

const argv = process.argv.slice(2);
const withTs = !argv.includes('--no-ts');
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : '';
const reps = argv.includes('--reps') ? Number(argv[argv.indexOf('--reps') + 1]) : 10;
const quietWait = argv.includes('--quiet-wait') ? Number(argv[argv.indexOf('--quiet-wait') + 1]) : 0;

/** Seconds of CPU used by all processes (from /proc/stat, jiffies at 100 Hz), or NaN off Linux. */
function busySeconds() {
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (v.reduce((a, b) => a + b, 0) - v[3] - v[4]) / 100;
  } catch {
    return NaN;
  }
}
function waitQuiet(maxSeconds) {
  const end = Date.now() + maxSeconds * 1000;
  let ok = 0;
  while (Date.now() < end && ok < 3) {
    const b0 = busySeconds(), c0 = process.cpuUsage(), t0 = Date.now();
    if (Number.isNaN(b0)) return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    const c = process.cpuUsage(c0), own = (c.user + c.system) / 1e6;
    const other = (busySeconds() - b0 - own) / ((Date.now() - t0) / 1000);
    ok = other < 0.1 ? ok + 1 : 0;
  }
}

const loaded = loadNative();
if ('error' in loaded) {
  console.error(`native backend unavailable: ${loaded.error}`);
  process.exit(1);
}
const nat = loaded.kernels;
console.log(`native: oneDNN ${loaded.info.onednn}, ${nat.threads()} threads, cpu ${loaded.info.cpu.join(' ')}; load average ${(await import('node:os')).loadavg()[0].toFixed(2)} (other work on the machine skews the numbers)`);

let seed = 1;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296) * 2 - 1;
// aligned to cache lines as the model's own arrays are (src/util/aligned.ts; only once the addon has loaded)
const { alignedFloat32 } = await import('../src/util/aligned.ts');
const f32 = (n, s = 1) => {
  const a = alignedFloat32(n);
  for (let i = 0; i < n; i++) a[i] = s * rnd();
  return a;
};
const i32 = (n, lo, hi) => Int32Array.from({ length: n }, () => lo + Math.floor(((rnd() + 1) / 2) * (hi - lo)));

function time(fn, n) {
  fn(); // warm-up (page faults, oneDNN's first-call JIT)
  const t = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { min: t[0], med: t[t.length >> 1] };
}

const pad = (s, n) => String(s).padEnd(n);
function report(name, native, tsMs, flops, bytes = 0) {
  let g = flops ? `  ${(flops / native.min / 1e6).toFixed(0).padStart(5)} GFLOP/s` : '';
  if (bytes) g += `  ${(bytes / native.min / 1e6).toFixed(1).padStart(5)} GB/s`;
  const ts = tsMs === undefined ? '' : `   ts ${tsMs.toFixed(1).padStart(9)} ms  (×${(tsMs / native.min).toFixed(0)})`;
  const n = `${native.min.toFixed(3).padStart(8)} ms (median ${native.med.toFixed(3).padStart(8)})`;
  console.log(`${pad(name, 58)} native ${n}${g.padEnd(16)}${ts}`);
}

/** make(k, scale) returns a thunk calling kernel set k; scale < 1 shrinks the problem for the TS run. */
function bench(name, make, flops = 0, tsScale = 1, bytes = 0) {
  if (only && !name.includes(only)) return;
  if (quietWait > 0) waitQuiet(quietWait);
  const native = time(make(nat, 1), reps);
  let tsMs;
  if (withTs) tsMs = time(make(tsKernels, tsScale), 1).min / tsScale;
  report(name, native, tsMs, flops, bytes);
}

function matmulCase(label, M, K, N, tA, tB, bias, acc) {
  const A = f32(M * K), B = f32(K * N), C = f32(M * N), b = bias ? f32(N) : null;
  bench(
    `matmul ${label} [${M}x${K}]${tA ? 'ᵀ' : ''}·[${tB ? `${N}x${K}]ᵀ` : `${K}x${N}]`}${bias ? '+b' : ''}${acc ? ' +=' : ''}`,
    (k, s) => {
      // the TS run keeps the inner sizes and shrinks the row count M (for transA, the output rows are still M)
      const m = Math.max(1, Math.round(M * s));
      return () => k.matmul(C, A, B, b, m, K, N, tA, tB, acc);
    },
    2 * M * K * N,
    0.02,
  );
}

function attentionCase(label, B, T, H, nHead, masked) {
  const qkv = f32(B * T * 3 * H), out = f32(B * T * H), att = f32(B * nHead * T * T), dqkv = f32(B * T * 3 * H);
  const mask = masked ? new Float32Array(B * T).fill(1) : null;
  if (mask) for (let t = T - 20; t < T; t++) mask[t] = 0;
  const dout = f32(B * T * H);
  const fl = 4 * B * nHead * T * T * (H / nHead); // q·kᵀ and att·v over the full square
  // GB/s of the least memory traffic: forward reads qkv and writes out and att; backward reads qkv, dout and
  // att and writes dqkv. At T 16 that is ~2 causal flops per byte (compare the adamw line: a pass that streams
  // 28 bytes per parameter on all threads).
  const qkvB = 4 * B * T * 3 * H, outB = 4 * B * T * H, attB = 4 * B * nHead * T * T;
  bench(`attention fwd ${label} B=${B} T=${T} H=${H} heads=${nHead}`, (k) => () => k.attentionForward(out, att, qkv, mask, B, T, H, nHead, MASK_VALUE), fl, 1, qkvB + outB + attB);
  bench(`attention bwd ${label} B=${B} T=${T} H=${H} heads=${nHead}`, (k) => () => k.attentionBackward(dqkv, dout, qkv, att, B, T, H, nHead), 2 * fl, 1, 2 * qkvB + outB + attB);
}

// ---- config b: H 256, byte decoder 1020 × 16 rows (the positions that predict a byte), patch decoder 4 × 256 ----
const H = 256, rowsByte = 1020 * 16, rowsLm = rowsByte, rowsPatch = 4 * 256;
console.log('\nconfig b (H 256, 4 heads)');
matmulCase('c_attn', rowsByte, H, 3 * H, false, false, true, false);
matmulCase('c_fc', rowsByte, H, 4 * H, false, false, true, false);
matmulCase('mlp c_proj', rowsByte, 4 * H, H, false, false, true, false);
matmulCase('lm_head', rowsLm, H, 257, false, true, false, false);
matmulCase('dX c_attn', rowsByte, 3 * H, H, false, true, false, false);
matmulCase('dX lm_head', rowsLm, 257, H, false, false, false, false);
matmulCase('dW c_attn', H, rowsByte, 3 * H, true, false, false, true);
matmulCase('dW c_fc', H, rowsByte, 4 * H, true, false, false, true);
matmulCase('dW mlp c_proj', 4 * H, rowsByte, H, true, false, false, true);
matmulCase('dX c_fc', rowsByte, 4 * H, H, false, true, false, false);
matmulCase('dW lm_head', 257, rowsLm, H, true, false, false, true);
attentionCase('byte', 1020, 16, H, 4, false);
attentionCase('patch', 4, 256, H, 4, true);
{
  const x = f32(rowsByte * H), out = f32(rowsByte * H), w = f32(H), b = f32(H), mean = f32(rowsByte), rstd = f32(rowsByte);
  const dx = f32(rowsByte * H), dw = f32(H), db = f32(H), dout = f32(rowsByte * H);
  tsKernels.layerNormForward(out, mean, rstd, x, w, b, rowsByte, H, 1e-5);
  bench(`layerNorm fwd ${rowsByte}x${H}`, (k) => () => k.layerNormForward(out, mean, rstd, x, w, b, rowsByte, H, 1e-5));
  bench(`layerNorm bwd ${rowsByte}x${H}`, (k) => () => k.layerNormBackward(dx, dw, db, dout, x, mean, rstd, w, rowsByte, H));
  const n = rowsByte * 4 * H, gx = f32(n, 3), gy = f32(n), gd = f32(n);
  bench(`gelu fwd ${n}`, (k) => () => k.geluForward(gy, gx, n));
  bench(`gelu bwd ${n}`, (k) => () => k.geluBackward(gd, gx, gy, n));
  const dbf = f32(4 * H);
  bench(`biasGrad ${rowsByte}x${4 * H}`, (k) => () => k.biasGrad(dbf, gy, rowsByte, 4 * H, true));
  bench(`addInPlace ${rowsByte * H}`, (k) => () => k.addInPlace(out, x, rowsByte * H));
  const logits = f32(rowsLm * 257, 4), dl = f32(rowsLm * 257), tg = i32(rowsLm, 0, 257);
  bench(`crossEntropy ${rowsLm}x257 with dlogits`, (k) => () => k.crossEntropy(dl, logits, tg, rowsLm, 257, 1 / rowsLm));
  bench(`softmax ${rowsLm}x257`, (k) => () => k.softmax(dl, logits, rowsLm, 257));
  const wte = f32(257 * H), wpe = f32(16 * H), tok = i32(rowsByte, -1, 257), dwte = f32(257 * H), dwpe = f32(16 * H);
  bench(`embed fwd ${rowsByte}x${H}`, (k) => () => k.embedForward(out, wte, wpe, tok, rowsByte, 16, H));
  bench(`embed bwd ${rowsByte}x${H}`, (k) => () => k.embedBackward(dwte, dwpe, dout, tok, rowsByte, 16, H));
  const W = f32(H * 16 * 257), pb = f32(H), ptok = i32(rowsPatch * 16, 0, 257), pout = f32(rowsPatch * H), dW = f32(H * 16 * 257);
  bench(`patchEmbed fwd ${rowsPatch}x16x${H}`, (k) => () => k.patchEmbedForward(pout, W, pb, ptok, rowsPatch, 16, H, V));
  bench(`patchEmbed bwd ${rowsPatch}x16x${H}`, (k) => () => k.patchEmbedBackward(dW, pb, pout, ptok, rowsPatch, 16, H, V));
  const np = 6_000_000, p = f32(np), g = f32(np, 1e-2), m = f32(np, 0), v = f32(np, 0);
  bench(`adamw ${np}`, (k) => () => k.adamw(p, g, m, v, np, 1e-4, 0.9, 0.999, 1e-8, 0.01, 10), 0, 1, 28 * np);
}

// ---- config c: H 768, 12 heads; batch 1 of 512 patches ----
console.log('\nconfig c (H 768, 12 heads)');
const Hc = 768, rowsC = 511 * 16;
matmulCase('c_attn', rowsC, Hc, 3 * Hc, false, false, true, false);
matmulCase('c_fc', rowsC, Hc, 4 * Hc, false, false, true, false);
matmulCase('dW c_fc', Hc, rowsC, 4 * Hc, true, false, false, true);
attentionCase('byte', 511, 16, Hc, 12, false);
attentionCase('patch', 1, 512, Hc, 12, true);
