/**
 * The worker that holds the model and runs it, so the page stays responsive: it loads a checkpoint through
 * the same readers as Node (reading a File or a fetched Blob by slices), then scores, classifies, generates
 * and benchmarks on the TypeScript, WebAssembly or WebGPU backend. One request at a time; Stop = the page ends
 * this worker and starts another.
 */
import { tsKernels } from '../backend/ts/kernels.js';
import type { Kernels } from '../backend/types.js';
import { wasmKernels, type WasmKernels } from '../backend/wasm/kernels.js';
import { webgpuKernels, type WebgpuKernels } from '../backend/webgpu/kernels.js';
import { classify, probsByLabel } from '../api/classify.js';
import { detect } from '../api/detect.js';
import { endsSpans } from '../data/patches.js';
import { score } from '../api/score.js';
import { extensionOf } from '../data/patches.js';
import { openTensorSource } from '../io/open.js';
import { readWeights } from '../io/weights.js';
import { BgptModel } from '../model/bgpt.js';
import { BgptClassifier } from '../model/classifier.js';
import { SAMPLING_DEFAULTS, checkSampling } from '../model/sampling.js';
import { modelForTask } from '../model/task-model.js';
import { BENCH_CONFIGS } from '../tasks/bench.js';
import { generateFile } from '../api/generate.js';
import { Rng } from '../util/rng.js';
import { blobAccess } from './blob-access.js';
import type { GpuReady } from './gpu-worker.js';
import type { BackendName, BenchRow, CheckRow, ClassResult, ModelInfo, Reply, Request, Score } from './protocol.js';

const scope = self as unknown as { onmessage: ((e: MessageEvent<Request>) => void) | null; postMessage(m: Reply): void; crossOriginIsolated: boolean };
const post = (m: Reply) => scope.postMessage(m);

let wasm: WasmKernels | null = null;
let wasmError: string | undefined;
let webgpu: WebgpuKernels | null = null;
let webgpuStatus = '';
let gpuOffered = false;
let model: BgptModel | BgptClassifier | null = null;
let labels: string[] = [];
let backend: BackendName = 'ts';
/** GFLOP/s of each backend by the short measurement that picks `auto`'s backend (taken once). */
let measured: Partial<Record<BackendName, number>> | null = null;

async function init(): Promise<void> {
  try {
    const r = await fetch(new URL('bgpt-kernels.wasm', self.location.href));
    if (!r.ok) throw new Error(`bgpt-kernels.wasm: HTTP ${r.status}`);
    wasm = wasmKernels(await WebAssembly.compile(await r.arrayBuffer()));
  } catch (e) {
    wasmError = (e as Error).message;
  }
  webgpuStatus = await probeWebgpu();
  post({ type: 'ready', backends: available(), wasmError, webgpu: webgpuStatus });
}

interface AdapterInfo { vendor: string; architecture: string; description: string }

/**
 * Whether the WebGPU backend can run here: an adapter, and a cross-origin isolated page (this worker waits
 * for the GPU's worker on shared memory, which the browser allows only then). The device itself is started
 * on first use: that takes seconds on a software adapter.
 */
async function probeWebgpu(): Promise<string> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info: AdapterInfo } | null> } }).gpu;
  if (!gpu) return 'absent (no navigator.gpu)';
  let adapter;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return `absent (${(e as Error).message})`;
  }
  if (!adapter) return 'absent (no adapter)';
  const { vendor, architecture, description } = adapter.info;
  const name = `adapter ${[vendor, architecture, description].filter(Boolean).join(' ') || '(unnamed)'}`;
  if (!scope.crossOriginIsolated) return `${name}, not used: the page is not cross-origin isolated (serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, as bgpt web --serve does)`;
  gpuOffered = true;
  return name;
}

/** Starts the GPU's worker and its device, once; on failure the backend is no longer offered. */
async function startWebgpu(): Promise<void> {
  if (webgpu || !gpuOffered) return;
  const gpu = new Worker(new URL('bgpt-gpu-worker.js', self.location.href), { type: 'module' });
  const ready = await new Promise<GpuReady>((resolve) => {
    gpu.onmessage = (e: MessageEvent<GpuReady>) => resolve(e.data);
    gpu.onerror = (e) => resolve({ type: 'ready', error: e.message || 'the GPU worker failed to start' });
    gpu.postMessage({ type: 'init' });
  });
  try {
    if (ready.error) throw new Error(ready.error);
    webgpu = webgpuKernels((req) => gpu.postMessage(req));
  } catch (e) {
    gpu.terminate();
    gpuOffered = false;
    webgpuStatus = `absent (${(e as Error).message})`;
  }
}

function available(): BackendName[] {
  return (['ts', 'wasm', 'webgpu'] as const).filter((b) => b === 'ts' || (b === 'wasm' ? wasm : gpuOffered));
}

function kernelsFor(name: BackendName): Kernels {
  if (name === 'wasm') {
    if (!wasm) throw new Error(`the WebAssembly backend is not available: ${wasmError}`);
    return wasm;
  }
  if (name === 'webgpu') {
    if (!webgpu) throw new Error(`the WebGPU backend is not available: ${webgpuStatus}`);
    return webgpu;
  }
  return tsKernels;
}

/** Keeps the model's weights where the backend's products read them (Kernels.pin). */
function pin(name: BackendName, weights: Float32Array): void {
  kernelsFor(name).pin?.(weights);
}

/** The fastest of `runs` calls, in ms. */
function bestOf(runs: number, fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

/** Best-of-`runs` GFLOP/s of an n×n×n product on a backend, after one uncounted run (a GPU compiles then). */
function matmulRate(k: Kernels, n: number, runs: number): number {
  const rng = new Rng(1);
  const A = Float32Array.from({ length: n * n }, () => rng.normal()), B = A.slice().reverse(), C = new Float32Array(n * n);
  const product = () => k.matmul(C, A, B, null, n, n, n, false, false, false);
  product();
  return (2 * n ** 3) / (bestOf(runs, product) / 1000) / 1e9;
}

/** `auto`: the backend with the most GFLOP/s on a short 128×128×128 product (measured once per worker). */
function fastest(): BackendName {
  measured ??= Object.fromEntries(available().map((b) => [b, matmulRate(kernelsFor(b), 128, 3)]));
  const rates = Object.entries(measured) as [BackendName, number][];
  return rates.reduce((best, r) => (r[1] > best[1] ? r : best))[0];
}

async function blobOf(data: Blob | string): Promise<Blob> {
  if (typeof data !== 'string') return data;
  const r = await fetch(data);
  if (!r.ok) throw new Error(`${data}: HTTP ${r.status}`);
  return r.blob();
}

async function bytesOf(data: Blob | string): Promise<Uint8Array> {
  return new Uint8Array(await (await blobOf(data)).arrayBuffer());
}

async function load(req: Extract<Request, { type: 'load' }>): Promise<void> {
  const t0 = performance.now();
  model = null;
  if (req.backend !== 'ts' && req.backend !== 'wasm') await startWebgpu();
  backend = req.backend === 'auto' ? fastest() : req.backend;
  const k = kernelsFor(backend);
  const blob = await blobOf(req.model);
  const access = blobAccess(blob);
  let w;
  try {
    const src = openTensorSource(req.name, access);
    try {
      w = readWeights(src, 'fp32', k.alloc);
    } finally {
      src.close();
    }
  } catch (e) {
    throw new Error(`${req.name}: ${(e as Error).message}`);
  }
  labels = w.task.kind === 'classification' ? w.task.labels : [];
  model = modelForTask(k, w.config, w.task, { params: w.params });
  pin(backend, w.params);
  const info: ModelInfo = {
    name: req.name, format: w.meta.format, task: model.kind, labels: labels.length ? labels : undefined, config: w.config,
    params: w.params.length, backend, measured: req.backend === 'auto' ? measured! : undefined, skippedOptimizer: !!w.meta.hasTorchOptimizer || !!w.meta.optimizer, seconds: (performance.now() - t0) / 1000,
    bytesRead: access.bytesRead, fileBytes: blob.size,
  };
  post({ type: 'loaded', info });
}

function need<T>(kind: 'generative' | 'classification', m: typeof model): T {
  if (!m) throw new Error('open a model first');
  const is = m.kind;
  if (is !== kind) throw new Error(`this is a ${is === 'classification' ? 'classifier' : 'generative model'}; ${kind === 'classification' ? 'classifying needs a classifier' : 'scoring and generating need a generative model'}`);
  return m as T;
}

/** The request's files as the task layer takes them: bytes and the extension of the name. */
function inputsOf(files: { name: string; data: Blob | string }[]): Promise<{ bytes: Uint8Array; ext: string }[]> {
  return Promise.all(files.map(async (f) => ({ bytes: await bytesOf(f.data), ext: extensionOf(f.name) })));
}

/** Mean cross-entropy and each byte's surprisal per file (head truncation, SPEC §3), and the token-weighted total. */
async function scoreRequest(files: { name: string; data: Blob | string }[]): Promise<void> {
  const m = need<BgptModel>('generative', model);
  const inputs = await inputsOf(files);
  const r = score(m, inputs, { surprisal: true, onProgress: (done, total) => post({ type: 'progress', done, total, what: 'parts scored' }) });
  // the bytes the model read (the head) go back with their surprisal, for the map
  const out: Score[] = r.files.map((f, i) => ({ name: files[i].name, loss: f.loss, bpb: f.bpb, bytes: f.bytes, surprisal: f.surprisal!, head: inputs[i].bytes.slice(0, f.surprisal!.length) }));
  post({ type: 'scored', files: out, loss: r.loss, bpb: r.bpb, backend });
}

async function classifyRequest(files: { name: string; data: Blob | string }[]): Promise<void> {
  const m = need<BgptClassifier>('classification', model);
  const r = classify(m, labels, await inputsOf(files), { onProgress: (done, total) => post({ type: 'progress', done, total, what: 'files classified' }) });
  const out: ClassResult[] = r.map((c, i) => ({ name: files[i].name, label: c.label, probs: probsByLabel(c, labels) }));
  post({ type: 'classified', files: out, backend });
}

/** Content types (api/detect.ts): the heads of the files under a classifier, told no extension. */
async function detectRequest(files: { name: string; data: Blob | string }[]): Promise<void> {
  const m = need<BgptClassifier>('classification', model);
  // only the head is read, of a file of any size
  // only what the detector reads leaves the file: its head, or its head and tail
  const { patchSize: S, patchLength: L } = m.cfg;
  const part = (b: Blob) => (m.reads === 'ends' ? new Blob(endsSpans(b.size, S, L).map(([x, y]) => b.slice(x, y))) : b.slice(0, (L - 1) * S));
  const heads = await Promise.all(files.map((f) => bytesOf(f.data instanceof Blob ? part(f.data) : f.data)));
  const r = detect(m, labels, heads, { onProgress: (done, total) => post({ type: 'progress', done, total, what: 'files detected' }) });
  post({ type: 'detected', files: r.map((d, i) => ({ name: files[i].name, ...d })), backend });
}

function generate(req: Extract<Request, { type: 'generate' }>): void {
  const m = need<BgptModel>('generative', model);
  checkSampling(req.sampling);
  const t0 = performance.now(), limit = Math.min(req.maxBytes, (m.cfg.patchLength - 1) * m.cfg.patchSize);
  let last = 0;
  const g = generateFile(m, req.ext, {
    ...req.sampling, rng: new Rng(req.seed), maxBytes: req.maxBytes,
    onByte: (n) => {
      const now = performance.now();
      if (now - last > 100) { // a message per byte would flood the page
        last = now;
        post({ type: 'progress', done: n, total: limit, what: 'bytes generated' });
      }
    },
  });
  post({ type: 'generated', ext: req.ext, bytes: g.bytes, stop: g.stop, backend, seconds: (performance.now() - t0) / 1000 });
}

/** Best-of-3 GFLOP/s of a square product, or config b generation bytes/s, on every backend. */
async function bench(what: 'matmul' | 'gen'): Promise<void> {
  await startWebgpu();
  const rows: BenchRow[] = [];
  for (const name of available()) {
    const k = kernelsFor(name);
    if (what === 'gen') {
      // as `bgpt bench --what gen`: random weights of config b, from a txt header, <eop> never sampled
      const m = new BgptModel(k, BENCH_CONFIGS.b.cfg, { rng: new Rng(0) });
      pin(name, m.params.data);
      const gen = (n: number) => generateFile(m, 'txt', { ...SAMPLING_DEFAULTS, rng: new Rng(1), maxBytes: n, noEnd: true });
      // 256 bytes, or as many as about 10 s allow on a slow backend (16 at least)
      const n = Math.max(16, Math.min(256, 16 * Math.floor(10_000 / bestOf(1, () => gen(16)))));
      const best = bestOf(3, () => gen(n));
      rows.push({ backend: name, what: 'generation, config b', value: n / (best / 1000), unit: 'bytes/s', shape: `best of 3 × ${n} bytes` });
      continue;
    }
    // the size doubles from 128 while a product takes under 50 ms, up to 512: timeable, yet short on a slow backend
    let n = 128;
    for (let rate = matmulRate(k, n, 1); n < 512 && (2 * n ** 3) / rate / 1e6 < 50; rate = matmulRate(k, n, 1)) n *= 2;
    rows.push({ backend: name, what: 'matmul', value: matmulRate(k, n, 3), unit: 'GFLOP/s', shape: `${n}×${n}×${n}, best of 3` });
  }
  post({ type: 'bench', rows });
  if (model) pin(backend, model.params.data); // the benchmark model took the pinned slot
}

/**
 * Every other backend's matrix products against the TypeScript reference, in the shapes and ways the model
 * calls them: one row to many, B stored [K,N] or [N,K], B and the bias copied per call or pinned, C
 * overwritten or accumulated into.
 */
async function check(): Promise<void> {
  await startWebgpu();
  const rows: CheckRow[] = [], rng = new Rng(2);
  const random = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  for (const name of available().filter((b) => b !== 'ts')) {
    const k = kernelsFor(name);
    for (const [M, K, N] of [[1, 64, 257], [5, 70, 33], [16, 64, 192], [70, 130, 100]]) {
      for (const transB of [false, true]) {
        for (const pinned of [false, true]) {
          for (const accumulate of [false, true]) {
            const weights = random(8 + K * N + N), A = random(M * K), C = random(M * N), want = C.slice();
            let B = weights.subarray(8, 8 + K * N), bias = weights.subarray(8 + K * N);
            if (pinned) pin(name, weights);
            else [B, bias] = [B.slice(), bias.slice()];
            tsKernels.matmul(want, A, B, bias, M, K, N, false, transB, accumulate);
            k.matmul(C, A, B, bias, M, K, N, false, transB, accumulate);
            let diff = 0, size = 0;
            for (let i = 0; i < C.length; i++) {
              diff = Math.max(diff, Math.abs(C[i] - want[i]));
              size = Math.max(size, Math.abs(want[i]));
            }
            const product = `${M}×${K}×${N}${transB ? ', B transposed' : ''}, weights ${pinned ? 'pinned' : 'copied'}${accumulate ? ', accumulated' : ''}`;
            rows.push({ backend: name, product, error: diff / size });
          }
        }
      }
    }
  }
  post({ type: 'checked', rows });
  if (model) pin(backend, model.params.data);
}

let queue = init();
scope.onmessage = (e) => {
  const req = e.data;
  queue = queue.then(async () => {
    try {
      if (req.type === 'load') await load(req);
      else if (req.type === 'score') await scoreRequest(req.files);
      else if (req.type === 'classify') await classifyRequest(req.files);
      else if (req.type === 'detect') await detectRequest(req.files);
      else if (req.type === 'generate') generate(req);
      else if (req.type === 'check') await check();
      else await bench(req.what);
    } catch (err) {
      post({ type: 'error', message: (err as Error).message });
    }
  });
};
