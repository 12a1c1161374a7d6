/**
 * Weights → model. Three kinds of file load alike, told apart by content: torch `.pth` archives (the
 * original bGPT checkpoints), plain safetensors and our own checkpoints (safetensors with bgpt metadata).
 * The configuration comes from our metadata or is inferred from tensor shapes (docs/format.md §2); every tensor of the
 * layout must be present with exactly its shape, and is read straight into the model's flat buffer. The
 * original checkpoints' non-parameter buffers (attn.bias, attn.masked_bias) and the tied lm_head are
 * accepted and ignored, as are our checkpoints' optimizer moments; any other tensor is an error.
 */
import type { HalfType, Kernels } from '../backend/types.js';
import type { BgptModel, ModelOptions } from '../model/bgpt.js';
import type { BgptClassifier } from '../model/classifier.js';
import { VOCAB, defaultHeads, type BgptConfig } from '../model/config.js';
import { BYTE_PREFIX, PATCH_PREFIX, TIED_LM_HEAD, buildLayout } from '../model/params.js';
import { classCount, defaultLabels, type Task } from '../model/task.js';
import { modelForTask } from '../model/task-model.js';
import type { ParamLayout } from '../nn/layout.js';
import { splitLayout, type HalfWeights } from '../nn/params.js';
import { fileError } from '../util/text.js';
import { floatToBf16, floatToHalf } from './dtypes.js';
import { CHECKPOINT_VERSION, META, MOMENT_PREFIX, parseConfig, parseOptimizer, parseTask, parseTraining, type OptimizerMeta, type TrainingState } from './meta.js';
import { openTensorSource } from './open.js';
import { PthSource, type PthInfo } from './pth/read-pth.js';
import { SafetensorsSource, writeSafetensors } from './safetensors.js';
import type { TensorSource } from './source.js';
import { PLAIN, allocatorOf, type Allocator } from '../util/aligned.js';

type Shapes = Map<string, { shape: number[] }>;

const IGNORED = /\.attn\.(bias|masked_bias)$/;

function shapeOf(t: Shapes, name: string): number[] {
  const e = t.get(name);
  if (!e) throw new Error(`missing tensor ${name}`);
  return e.shape;
}

function layerCount(t: Shapes, prefix: string): number {
  let n = 0;
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}h\\.(\\d+)\\.`);
  for (const k of t.keys()) {
    const m = re.exec(k);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/** The configuration the tensors describe and their classifier's outputs (0: generative); only shapes are used. */
export function inferConfig(t: Shapes): { config: BgptConfig; classes: number } {
  const b = shapeOf(t, 'patch_level_decoder.patch_embedding.bias');
  const w = shapeOf(t, 'patch_level_decoder.patch_embedding.weight');
  if (b.length !== 1 || b[0] < 1) throw new Error(`patch_embedding.bias has shape [${b}], expected [H]`);
  const H = b[0];
  if (w.length !== 2 || w[0] !== H || w[1] === 0 || w[1] % VOCAB !== 0) throw new Error(`patch_embedding.weight has shape [${w}], expected [${H}, S·${VOCAB}]`);
  const wpe = shapeOf(t, `${PATCH_PREFIX}wpe.weight`);
  if (wpe.length !== 2) throw new Error(`${PATCH_PREFIX}wpe.weight has shape [${wpe}], expected [L, ${H}]`);
  const config: BgptConfig = {
    patchSize: w[1] / VOCAB, patchLength: wpe[0], hidden: H,
    patchLayers: layerCount(t, PATCH_PREFIX), byteLayers: layerCount(t, BYTE_PREFIX), heads: defaultHeads(H),
  };
  if (t.has('classifier.weight')) {
    const [K] = shapeOf(t, 'classifier.weight');
    return { config, classes: K };
  }
  if (!t.has(`${BYTE_PREFIX}wte.weight`)) throw new Error('neither a byte-level decoder nor a classifier in these weights');
  return { config, classes: 0 };
}

function checkShape(name: string, got: number[], want: number[]): void {
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) throw new Error(`tensor ${name} has shape [${got}], the model needs [${want}]`);
}

function checkExtra(layout: ParamLayout, names: Iterable<string>, also?: (name: string) => boolean): void {
  for (const name of names) {
    if (!layout.byName.has(name) && name !== TIED_LM_HEAD && !IGNORED.test(name) && !also?.(name)) throw new Error(`unexpected tensor ${name}`);
  }
}

/**
 * Reads the layout's tensors from an open file straight into one flat buffer (memory: the model only).
 * `also` names further tensors the file may hold that are not the model's (e.g. optimizer moments).
 */
export function packFromSource(layout: ParamLayout, src: TensorSource, also?: (name: string) => boolean, alloc: Allocator = PLAIN): Float32Array {
  for (const s of layout.specs) {
    const e = src.tensors.get(s.name);
    if (!e) throw new Error(`missing tensor ${s.name}`);
    checkShape(s.name, e.shape, s.shape);
  }
  checkExtra(layout, src.tensors.keys(), also);
  if (src instanceof PthSource) src.checkBacked(layout.specs.map((s) => s.name));
  const flat = alloc.f32(layout.size);
  for (const s of layout.specs) readInto(src, s.name, flat.subarray(s.offset, s.offset + s.size));
  return flat;
}

/** Elements per piece when a tensor is streamed (readInto): 1 MiB of float32. */
const PIECE = 1 << 18;

/** Can tensor `name` be streamed in pieces (readSlice)? */
function sliceable(src: TensorSource, name: string): boolean {
  return !!src.readSlice?.(name, 0, new Float32Array(0));
}

/** Reads tensor `name` into `out` (its element count), in pieces where the source can (small read buffers). */
function readInto(src: TensorSource, name: string, out: Float32Array): void {
  if (!sliceable(src, name)) {
    src.read(name, out);
    return;
  }
  for (let at = 0; at < out.length; at += PIECE) src.readSlice!(name, at, out.subarray(at, Math.min(out.length, at + PIECE)));
}

/**
 * How inference keeps the matrix weights: fp32, or 16 bits (bf16 or f16) with fp32 arithmetic; bf16-dot: bf16
 * weights and bf16 products (activations rounded to bf16 for each product: Kernels.matmulW16).
 */
export type Precision = 'fp32' | HalfType | 'bf16-dot';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16', 'f16', 'bf16-dot'];

/** The 16-bit format a reduced precision keeps the matrix weights in, and whether its products are bf16 too. */
function halfFormat(p: Exclude<Precision, 'fp32'>): { dtype: HalfType; bf16Activations?: true } {
  return p === 'bf16-dot' ? { dtype: 'bf16', bf16Activations: true } : { dtype: p };
}

/** float32 values rounded to 16 bits (nearest even) into `out`. */
function narrow(src: Float32Array, out: Uint16Array, dtype: HalfType): void {
  if (dtype === 'f16') {
    for (let i = 0; i < src.length; i++) out[i] = floatToHalf(src[i]);
    return;
  }
  const u = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = u[i];
    out[i] = (x & 0x7f800000) === 0x7f800000 && x & 0x7fffff ? floatToBf16(src[i]) : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
  }
}

/**
 * The precision to keep a file's matrix weights in: as asked, or with 'auto' that of the file (a bf16 or f16
 * checkpoint stays in 16 bits; anything else is fp32).
 */
function precisionFor(layout: ParamLayout, src: TensorSource, asked: Precision | 'auto'): Precision {
  if (asked !== 'auto') return asked;
  const { half } = splitLayout(layout), dtypes = new Set(half.specs.map((s) => src.tensors.get(s.name)?.dtype));
  return dtypes.size === 1 && dtypes.has('BF16') ? 'bf16' : dtypes.size === 1 && dtypes.has('F16') ? 'f16' : 'fp32';
}

/**
 * Reads the layout's tensors for reduced-precision inference: the Conv1D weights into 16 bits (one tensor
 * at a time through a float32 buffer of that tensor's size: exact for a file already in that format), the
 * rest into a flat fp32 buffer of their own.
 */
function packHalf(layout: ParamLayout, src: TensorSource, dtype: HalfType, also: ((name: string) => boolean) | undefined, alloc: Allocator): { params: Float32Array; half: HalfWeights } {
  const { f32, half } = splitLayout(layout);
  const params = packFromSource(f32, src, (n) => half.byName.has(n) || !!also?.(n), alloc);
  const data = alloc.u16(half.size);
  for (const s of half.specs) {
    const e = src.tensors.get(s.name);
    if (!e) throw new Error(`missing tensor ${s.name}`);
    checkShape(s.name, e.shape, s.shape);
  }
  let tmp = new Float32Array(0);
  for (const s of half.specs) {
    // streamed where the source can: the float32 buffer then holds one piece, not the whole tensor
    const piece = sliceable(src, s.name) ? PIECE : s.size, dst = data.subarray(s.offset, s.offset + s.size);
    if (tmp.length < Math.min(piece, s.size)) tmp = new Float32Array(Math.min(piece, s.size));
    for (let at = 0; at < s.size; at += piece) {
      const n = Math.min(piece, s.size - at), buf = tmp.subarray(0, n);
      narrow(piece === s.size ? src.read(s.name, buf) : src.readSlice!(s.name, at, buf)!, dst.subarray(at, at + n), dtype);
    }
  }
  return { params, half: { dtype, layout: half, data } };
}

/** A generative model's parameters with its matrix weights rounded to 16 bits (for timing and comparisons). */
export function halfParams(model: BgptModel, precision: Exclude<Precision, 'fp32'>): { params: Float32Array; half: { dtype: HalfType; data: Uint16Array; bf16Activations?: boolean } } {
  const { f32, half } = splitLayout(model.layout), src = model.params, format = halfFormat(precision);
  const alloc = allocatorOf(model.k), params = alloc.f32(f32.size), data = alloc.u16(half.size);
  for (const s of f32.specs) params.set(src.w(s.name), s.offset);
  for (const s of half.specs) narrow(src.w(s.name), data.subarray(s.offset, s.offset + s.size), format.dtype);
  return { params, half: { ...format, data } };
}

/** Where a model came from and what its file says besides the weights. */
export interface ModelMeta {
  format: 'pth' | 'safetensors' | 'checkpoint';
  /** Training state: ours in full, or what a torch checkpoint records (epoch, best epoch, best loss / acc). */
  training?: Partial<TrainingState>;
  /** Optimizer step and hyper-parameters when the file holds AdamW moments (our checkpoints). */
  optimizer?: OptimizerMeta;
  /** The torch checkpoint holds an optimizer state (not read). */
  hasTorchOptimizer?: boolean;
  /** safetensors `__metadata__`, as stored. */
  metadata?: Record<string, string>;
}

/** A loaded model: `kind` tells which model it is (and narrows `model` and `task`). */
export type LoadedModel =
  | { kind: 'generative'; task: Exclude<Task, { kind: 'classification' }>; config: BgptConfig; model: BgptModel; meta?: ModelMeta }
  | { kind: 'classification'; task: Task & { kind: 'classification' }; config: BgptConfig; model: BgptClassifier; meta?: ModelMeta };

function loaded(k: Kernels, config: BgptConfig, task: Task, opts: ModelOptions, meta?: ModelMeta): LoadedModel {
  return task.kind === 'classification'
    ? { kind: 'classification', task, config, model: modelForTask(k, config, task, opts), meta }
    : { kind: 'generative', task, config, model: modelForTask(k, config, task, opts), meta };
}

/** The weights of a file of any supported kind, as a flat buffer with its config, task and metadata. */
export interface ModelWeights {
  config: BgptConfig;
  task: Task;
  layout: ParamLayout;
  /** Every tensor of the layout; with `half`, every one but the 16-bit weights (splitLayout's f32). */
  params: Float32Array;
  half?: HalfWeights;
  meta: ModelMeta;
}

/** The classification task (labels, what it reads) a plain safetensors export noted in its metadata (bgpt.task), when it fits. */
function taskFromMetadata(src: TensorSource, n: number): (Task & { kind: 'classification' }) | undefined {
  if (!(src instanceof SafetensorsSource) || src.metadata[META.task] === undefined) return undefined;
  try {
    const t = parseTask(src.metadata[META.task]);
    return t.kind === 'classification' && t.labels.length === n ? t : undefined;
  } catch {
    return undefined; // informational only in a plain file
  }
}

/** Is this an open safetensors file one of our checkpoints? */
export function isCheckpoint(src: TensorSource): src is SafetensorsSource {
  return src instanceof SafetensorsSource && src.metadata[META.checkpoint] !== undefined;
}

/** The model's tensors of an open file, fp32 or (precision) with the matrix weights in 16 bits. */
function pack(layout: ParamLayout, src: TensorSource, precision: Precision | 'auto', alloc: Allocator, also?: (name: string) => boolean): { params: Float32Array; half?: HalfWeights } {
  const p = precisionFor(layout, src, precision);
  if (p === 'fp32') return { params: packFromSource(layout, src, also, alloc) };
  const { dtype, bf16Activations } = halfFormat(p), packed = packHalf(layout, src, dtype, also, alloc);
  return { ...packed, half: { ...packed.half, bf16Activations } };
}

/**
 * Reads the weights of an open file (the caller closes it); `precision`: see Precision ('auto': the file's);
 * `alloc`: where the buffers go (the backend's Kernels.alloc, so that a model adopts them as they are).
 */
export function readWeights(src: TensorSource, precision: Precision | 'auto' = 'fp32', alloc: Allocator = PLAIN): ModelWeights {
  if (isCheckpoint(src)) {
    const md = src.metadata;
    if (md[META.checkpoint] !== CHECKPOINT_VERSION) throw new Error(`checkpoint format ${md[META.checkpoint]} is not supported (this bgpt reads ${CHECKPOINT_VERSION})`);
    if (md[META.config] === undefined || md[META.task] === undefined) throw new Error(`checkpoint metadata lacks ${META.config} or ${META.task}`);
    const config = parseConfig(md[META.config]), task = parseTask(md[META.task]);
    const layout = buildLayout(config, classCount(task));
    const optimizer = md[META.optimizer] !== undefined ? parseOptimizer(md[META.optimizer]) : undefined;
    const isMoment = (n: string) => !!optimizer && (n.startsWith(MOMENT_PREFIX.m) || n.startsWith(MOMENT_PREFIX.v));
    const packed = pack(layout, src, precision, alloc, isMoment);
    const training = md[META.training] !== undefined ? parseTraining(md[META.training]) : undefined;
    return { config, task, layout, ...packed, meta: { format: 'checkpoint', training, optimizer, metadata: md } };
  }
  const { config, classes } = inferConfig(src.tensors);
  const layout = buildLayout(config, classes);
  const packed = pack(layout, src, precision, alloc);
  let info: PthInfo | undefined;
  if (src instanceof PthSource) info = src.info;
  let task: Task = { kind: 'generative' };
  if (classes) {
    const noted = taskFromMetadata(src, classes), labels = info?.labels ?? noted?.labels ?? defaultLabels(classes);
    if (labels.length !== classes) throw new Error(`the checkpoint lists ${labels.length} labels but its classifier has ${classes} outputs`);
    task = noted?.reads ? { kind: 'classification', labels, reads: noted.reads } : { kind: 'classification', labels };
  }
  const meta: ModelMeta = { format: src.format };
  if (src instanceof SafetensorsSource) meta.metadata = src.metadata;
  if (info) {
    const training: Partial<TrainingState> = {};
    if (info.epoch !== undefined) training.epoch = info.epoch;
    if (info.bestEpoch !== undefined) training.bestEpoch = info.bestEpoch;
    if (info.minEvalLoss !== undefined) training.bestEvalLoss = info.minEvalLoss;
    if (info.maxEvalAcc !== undefined) training.bestEvalAcc = info.maxEvalAcc;
    if (Object.keys(training).length) meta.training = training;
    meta.hasTorchOptimizer = info.hasOptimizer;
  }
  return { config, task, layout, ...packed, meta };
}

/** Reads the weights of a file of any supported kind; every error names the file. */
export function readModelWeights(path: string, precision: Precision | 'auto' = 'fp32', alloc: Allocator = PLAIN): ModelWeights {
  try {
    const src = openTensorSource(path);
    try {
      return readWeights(src, precision, alloc);
    } finally {
      src.close();
    }
  } catch (e) {
    throw fileError(path, e);
  }
}

/**
 * Loads a model from a .pth, plain safetensors or our checkpoint; every error names the file. `precision`
 * (inference only): keep the matrix weights in 16 bits ('auto': as the file has them); default fp32.
 */
export function loadModelFile(k: Kernels, path: string, opts: { grad?: boolean; precision?: Precision | 'auto' } = {}): LoadedModel {
  if (opts.grad && opts.precision && opts.precision !== 'fp32') throw new Error(`${path}: training needs fp32 weights, not ${opts.precision}`);
  const w = readModelWeights(path, opts.precision ?? 'fp32', k.alloc);
  try {
    return modelOfWeights(k, w, opts);
  } catch (e) {
    throw fileError(path, e);
  }
}

/** The model the weights of a file make, on kernels `k`. */
export function modelOfWeights(k: Kernels, w: ModelWeights, opts: { grad?: boolean } = {}): LoadedModel {
  const half = w.half && { dtype: w.half.dtype, data: w.half.data, bf16Activations: w.half.bf16Activations };
  return loaded(k, w.config, w.task, { params: w.params, grad: opts.grad, half }, w.meta);
}

/** Writes a model's parameters as safetensors under their state-dict keys (atomically). */
export function saveWeights(path: string, layout: ParamLayout, data: Float32Array, metadata: Record<string, string> = {}): void {
  writeSafetensors(path, layout.specs.map((s) => ({ name: s.name, shape: s.shape, data: data.subarray(s.offset, s.offset + s.size) })), metadata);
}
