/**
 * The page: opens a model, sends the work to the worker (worker.ts) and shows the results, rendering
 * generated files with the gallery's renderers. With a query it runs unattended and writes one JSON object
 * into <pre id="result"> (the automation contract, README "In the browser"):
 *   ?model=URL&score=URL      → {"loss", "bpb", "bytes", "backend"}
 *   ?model=URL&classify=URL   → {"label", "probs", "backend"}
 *   ?model=URL&detect=URL     → {"label", "p", "top", "backend"}: the content type (a detector's answer)
 *   ?model=URL&generate=EXT[&seed=N&max=N] → {"ext", "bytes", "base64", "stop", "backend"}
 *   ?bench=matmul|gen         → {"rows", "webgpu"}
 *   ?backends                 → {"backends", "webgpu"}: the backends this browser offers, whether it has a GPU adapter
 *   ?check=matmul             → {"rows"}: each backend's products against the TypeScript reference
 * plus &backend=ts|wasm|webgpu to choose the backend (default: the fastest by a short measurement); any
 * failure → {"error"}. Without model=URL the site's base model (base.safetensors beside the page) is used.
 * The page opens that model by itself when the site has it.
 */
import { midiNotes } from '../data/media/midi.js';
import { repairMedia } from '../data/media/repair.js';
import { pianoRoll, waveform } from '../tasks/media-views.js';
import { escapeHtml } from '../util/html.js';
import { SURPRISAL_CSS, scoreReport } from '../tasks/surprisal-map.js';
import type { BackendName, BenchRow, ModelInfo, Reply, Request } from './protocol.js';

type Final = Exclude<Reply, { type: 'progress' } | { type: 'partial' } | { type: 'ready' }>;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The worker, one request at a time in order; Stop ends it and starts a fresh one. */
class Runner {
  private worker!: Worker;
  private waiting: { resolve(r: Final): void; reject(e: Error): void }[] = [];
  ready!: Promise<Extract<Reply, { type: 'ready' }>>;
  onProgress: (done: number, total: number, what: string) => void = () => {};

  constructor() {
    this.start();
  }

  private start(): void {
    this.worker = new Worker(new URL('bgpt-worker.js', import.meta.url), { type: 'module' });
    let ready: (r: Extract<Reply, { type: 'ready' }>) => void;
    this.ready = new Promise((r) => (ready = r));
    this.worker.onmessage = (e: MessageEvent<Reply>) => {
      const m = e.data;
      if (m.type === 'ready') ready(m);
      else if (m.type === 'progress') this.onProgress(m.done, m.total, m.what);
      else if (m.type !== 'partial') {
        const w = this.waiting.shift();
        if (m.type === 'error') w?.reject(new Error(m.message));
        else w?.resolve(m);
      }
    };
    this.worker.onerror = (e) => {
      e.preventDefault();
      for (const w of this.waiting.splice(0)) w.reject(new Error(e.message || 'the worker failed'));
    };
  }

  request(req: Request): Promise<Final> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(req);
    });
  }

  stop(): void {
    this.worker.terminate();
    for (const w of this.waiting.splice(0)) w.reject(new Error('stopped'));
    this.start();
  }
}

const runner = new Runner();
let info: ModelInfo | null = null;
let lastLoad: Extract<Request, { type: 'load' }> | null = null;
let busy = 0;

function status(text: string, bad = false): void {
  $('status').textContent = text;
  $('status').className = bad ? 'bad' : '';
}

runner.onProgress = (done, total, what) => {
  ($('progress') as HTMLProgressElement).max = total;
  ($('progress') as HTMLProgressElement).value = done;
  status(`${done} / ${total} ${what}`);
};

/** Runs one request with the Stop button armed; errors end in the status line. */
async function run<T extends Final>(req: Request, what: string): Promise<T | null> {
  busy++;
  ($('stop') as HTMLButtonElement).disabled = false;
  status(`${what}…`);
  try {
    const r = (await runner.request(req)) as T;
    status('done');
    return r;
  } catch (e) {
    status((e as Error).message, true);
    return null;
  } finally {
    if (--busy === 0) ($('stop') as HTMLButtonElement).disabled = true;
  }
}

function backendChoice(): BackendName | 'auto' {
  return ($('backend') as HTMLSelectElement).value as BackendName | 'auto';
}

async function openModel(model: Blob | string, name: string): Promise<ModelInfo | null> {
  lastLoad = { type: 'load', model, name, backend: backendChoice() };
  const r = await run<Extract<Final, { type: 'loaded' }>>(lastLoad, `reading ${name}`);
  info = r?.info ?? null;
  $('model-info').textContent = info ? describe(info) : 'No model open.';
  return info;
}

const mb = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 2 : 0)} MB`;

function describe(i: ModelInfo): string {
  const c = i.config, what = i.task === 'classification' ? `classifier (${i.labels!.join(', ')})` : 'generative model';
  const rates = i.measured ? ` (the fastest: ${Object.entries(i.measured).map(([b, r]) => `${b} ${r.toFixed(2)}`).join(', ')} GFLOP/s)` : '';
  return `${i.name}: ${i.format}, ${what}, ${(i.params / 1e6).toFixed(2)} M parameters (hidden ${c.hidden}, ${c.patchLayers}+${c.byteLayers} layers, patch ${c.patchSize}×${c.patchLength}), ${i.backend} backend${rates}, read in ${i.seconds.toFixed(2)} s (${mb(i.bytesRead)} of the file's ${mb(i.fileBytes)})${i.skippedOptimizer ? '; the optimizer state was not read' : ''}`;
}

async function handleFiles(files: File[]): Promise<void> {
  if (!info) return status('open a model first', true);
  const items = files.map((f) => ({ name: f.name, data: f as Blob }));
  if (info.task === 'classification') {
    const r = await run<Extract<Final, { type: 'classified' }>>({ type: 'classify', files: items }, 'classifying');
    if (!r) return;
    const head = `<tr><th>file</th><th>label</th>${info.labels!.map((l) => `<th>${escapeHtml(l)}</th>`).join('')}</tr>`;
    const rows = r.files.map((f) => `<tr><td>${escapeHtml(f.name)}</td><td>${escapeHtml(f.label)}</td>${Object.values(f.probs).map((p) => `<td class="n">${p.toFixed(4)}</td>`).join('')}</tr>`);
    $('table').innerHTML = `<table>${head}${rows.join('')}</table>`;
  } else {
    const r = await run<Extract<Final, { type: 'scored' }>>({ type: 'score', files: items }, 'scoring');
    if (r) showScores(r);
  }
}

/** The scores as a table (bits per byte, bytes, verdict) and each file's surprisal map. */
function showScores(r: Extract<Final, { type: 'scored' }>): void {
  $('table').innerHTML = scoreReport(r.files.map((f) => ({ ...f, data: f.head })), r.bpb);
}

/** A generated file as the gallery shows it: text, image, audio player with waveform, piano roll or hex. */
function render(ext: string, bytes: Uint8Array): string {
  const url = (b: Uint8Array, mime: string) => URL.createObjectURL(new Blob([b.slice()], { type: mime }));
  const download = `<a download="generated.${escapeHtml(ext)}" href="${url(bytes, 'application/octet-stream')}">download</a>`;
  const fixed = repairMedia(bytes, ext);
  const note = fixed?.changed ? ' (header repaired for display)' : '';
  let body: string;
  if (ext === 'bmp') body = fixed ? `<img alt="generated image" src="${url(fixed.bytes, 'image/bmp')}">` : '<span class="bad">not a BMP file</span>';
  else if (ext === 'wav') body = fixed ? `<audio controls src="${url(fixed.bytes, 'audio/wav')}"></audio>${waveform(fixed.bytes)}` : '<span class="bad">not a WAV file</span>';
  else if (ext === 'mid') {
    try {
      body = pianoRoll(midiNotes(bytes).notes);
    } catch (e) {
      body = `<span class="bad">${escapeHtml((e as Error).message)}</span>`;
    }
  } else body = `<pre>${escapeHtml(new TextDecoder().decode(bytes))}</pre>`;
  return `<div class="item"><div class="name">${bytes.length} bytes${note} ${download}</div>${body}</div>`;
}

function samplingFromForm(): { ext: string; seed: number; maxBytes: number; sampling: { topK: number; topP: number; temperature: number } } {
  const v = (id: string) => Number(($(id) as HTMLInputElement).value);
  return { ext: ($('ext') as HTMLSelectElement).value, seed: v('seed'), maxBytes: v('max'), sampling: { topK: v('topk'), topP: v('topp'), temperature: v('temp') } };
}

function benchTable(rows: BenchRow[], webgpu: string): void {
  $('bench-table').innerHTML = `<table><tr><th>backend</th><th>what</th><th></th><th>shape</th></tr>${rows.map((r) => `<tr><td>${r.backend}</td><td>${escapeHtml(r.what)}</td><td class="n">${r.value.toFixed(2)} ${r.unit}</td><td>${escapeHtml(r.shape)}</td></tr>`).join('')}</table>`;
  $('webgpu').textContent = `WebGPU: ${webgpu}`;
}

/** The shipped base model and detector, which `bgpt web` puts beside the page. */
const BASE_MODEL = 'base.safetensors', DETECTOR = 'detect.safetensors';
const offered = new Map<string, Promise<boolean>>();
function has(name: string): Promise<boolean> {
  if (!offered.has(name)) offered.set(name, fetch(name, { method: 'HEAD' }).then((r) => r.ok, () => false));
  return offered.get(name)!;
}
const hasBaseModel = () => has(BASE_MODEL), hasDetector = () => has(DETECTOR);

/** Each file's content type under the open detector, as a table. */
async function detectFiles(files: File[]): Promise<void> {
  if (info?.task !== 'classification') return status('open a detector first (a classifier of content types)', true);
  const r = await run<Extract<Final, { type: 'detected' }>>({ type: 'detect', files: files.map((f) => ({ name: f.name, data: f as Blob })) }, 'detecting');
  if (!r) return;
  const rows = r.files.map((f) => `<tr><td>${escapeHtml(f.name)}</td><td><b>${escapeHtml(f.label)}</b></td><td class="n">${f.p.toFixed(2)}</td><td>${f.top.map((t) => `${escapeHtml(t.label)} ${t.p.toFixed(2)}`).join(', ')}</td></tr>`);
  $('detect-table').innerHTML = `<table><tr><th>file</th><th>type</th><th>p</th><th>most probable</th></tr>${rows.join('')}</table>`;
}

function wireUi(): void {
  $('model-base').addEventListener('click', () => void openModel(BASE_MODEL, BASE_MODEL));
  $('model-detect').addEventListener('click', () => void openModel(DETECTOR, DETECTOR));
  $('detect-files').addEventListener('change', () => void detectFiles([...(($('detect-files') as HTMLInputElement).files ?? [])]));
  $('model-file').addEventListener('change', () => {
    const f = ($('model-file') as HTMLInputElement).files?.[0];
    if (f) void openModel(f, f.name);
  });
  $('backend').addEventListener('change', () => {
    if (lastLoad) void openModel(lastLoad.model, lastLoad.name);
  });
  $('files').addEventListener('change', () => void handleFiles([...(($('files') as HTMLInputElement).files ?? [])]));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void handleFiles([...(e.dataTransfer?.files ?? [])]);
  });
  $('generate').addEventListener('click', async () => {
    const o = samplingFromForm();
    const r = await run<Extract<Final, { type: 'generated' }>>({ type: 'generate', ...o }, 'generating');
    if (r) {
      $('outputs').insertAdjacentHTML('afterbegin', render(r.ext, r.bytes));
      status(`${r.bytes.length} bytes in ${r.seconds.toFixed(1)} s (${(r.bytes.length / r.seconds).toFixed(1)} bytes/s, stopped by ${r.stop})`);
    }
  });
  $('stop').addEventListener('click', () => {
    runner.stop();
    status('stopped');
    if (lastLoad) void openModel(lastLoad.model, lastLoad.name); // the new worker needs the model again
  });
  for (const [id, what] of [['bench', 'matmul'], ['bench-gen', 'gen']] as const) {
    $(id).addEventListener('click', async () => {
      const r = await run<Extract<Final, { type: 'bench' }>>({ type: 'bench', what }, 'measuring');
      if (r) benchTable(r.rows, (await runner.ready).webgpu);
    });
  }
}

/** The automation contract: the query names the work, the answer is JSON in <pre id="result">. */
async function automate(q: URLSearchParams): Promise<Record<string, unknown>> {
  const ready = await runner.ready;
  const backend = q.get('backend');
  if (backend !== null) {
    if (backend !== 'ts' && backend !== 'wasm' && backend !== 'webgpu') throw new Error(`backend must be ts, wasm or webgpu, not "${backend}"`);
    if (!ready.backends.includes(backend)) {
      const why = backend === 'webgpu' ? `WebGPU ${ready.webgpu}` : ready.wasmError;
      throw new Error(`backend ${backend} is not available here${why ? `: ${why}` : ''}`);
    }
    ($('backend') as HTMLSelectElement).value = backend;
  }
  if (q.has('backends')) return { backends: ready.backends, webgpu: ready.webgpu };
  if (q.has('check')) return { rows: ((await runner.request({ type: 'check' })) as Extract<Final, { type: 'checked' }>).rows };
  if (q.has('bench')) {
    const what = q.get('bench') === 'gen' ? 'gen' : 'matmul';
    const r = (await runner.request({ type: 'bench', what })) as Extract<Final, { type: 'bench' }>;
    benchTable(r.rows, ready.webgpu);
    return { rows: r.rows, webgpu: ready.webgpu };
  }
  const modelUrl = q.get('model') ?? ((await hasBaseModel()) ? BASE_MODEL : null);
  if (!modelUrl) throw new Error(`the query needs model=URL (this site has no ${BASE_MODEL})`);
  const nameOf = (u: string) => decodeURIComponent(new URL(u, location.href).pathname.split('/').pop() || u);
  lastLoad = { type: 'load', model: modelUrl, name: nameOf(modelUrl), backend: backendChoice() };
  const loaded = (await runner.request(lastLoad)) as Extract<Final, { type: 'loaded' }>;
  info = loaded.info;
  $('model-info').textContent = describe(info);
  const scoreUrl = q.get('score'), classifyUrl = q.get('classify'), detectUrl = q.get('detect'), ext = q.get('generate');
  if (detectUrl) {
    const r = (await runner.request({ type: 'detect', files: [{ name: nameOf(detectUrl), data: detectUrl }] })) as Extract<Final, { type: 'detected' }>;
    const { name: _n, ...d } = r.files[0];
    return { ...d, backend: r.backend };
  }
  if (scoreUrl) {
    const r = (await runner.request({ type: 'score', files: [{ name: nameOf(scoreUrl), data: scoreUrl }] })) as Extract<Final, { type: 'scored' }>;
    showScores(r);
    return { loss: r.loss, bpb: r.bpb, bytes: r.files[0].bytes, backend: r.backend };
  }
  if (classifyUrl) {
    const r = (await runner.request({ type: 'classify', files: [{ name: nameOf(classifyUrl), data: classifyUrl }] })) as Extract<Final, { type: 'classified' }>;
    return { label: r.files[0].label, probs: r.files[0].probs, backend: r.backend };
  }
  if (ext) {
    const num = (k: string, d: number) => (q.has(k) ? Number(q.get(k)) : d);
    const sampling = { topK: num('top_k', 0), topP: num('top_p', 1), temperature: num('temperature', 1) };
    const r = (await runner.request({ type: 'generate', ext, seed: num('seed', 0), maxBytes: num('max', 4096), sampling })) as Extract<Final, { type: 'generated' }>;
    $('outputs').insertAdjacentHTML('afterbegin', render(r.ext, r.bytes));
    let bin = '';
    for (const b of r.bytes) bin += String.fromCharCode(b);
    return { ext: r.ext, bytes: r.bytes.length, base64: btoa(bin), stop: r.stop, backend: r.backend };
  }
  return { model: info };
}

document.head.insertAdjacentHTML('beforeend', `<style>${SURPRISAL_CSS}</style>`);
wireUi();
void runner.ready.then((r) => status(`ready: backends ${r.backends.join(', ')}${r.wasmError ? ` (WebAssembly unavailable: ${r.wasmError})` : ''}; WebGPU ${r.webgpu}`));
const query = new URLSearchParams(location.search);
void hasBaseModel().then((has) => {
  $('model-base').hidden = !has;
  // offered by default: open it unless a query or the user chose first
  if (has && !query.size && !lastLoad) void openModel(BASE_MODEL, BASE_MODEL);
});
void hasDetector().then((has) => ($('model-detect').hidden = !has));
if (query.size) {
  const out = $('result');
  automate(query).then(
    (r) => (out.textContent = JSON.stringify(r)),
    (e: Error) => (out.textContent = JSON.stringify({ error: e.message })),
  ).finally(() => out.removeAttribute('hidden'));
}
