/**
 * Weights → model: the configuration is inferred from tensor shapes (SPEC §2) and every tensor of the layout
 * must be present with exactly its shape. The original checkpoints' non-parameter buffers (attn.bias,
 * attn.masked_bias) and the tied lm_head are accepted and ignored; any other tensor is an error.
 */
import type { Kernels } from '../backend/types.js';
import { BgptModel } from '../model/bgpt.js';
import { BgptClassifier } from '../model/classifier.js';
import { VOCAB, defaultHeads, type BgptConfig } from '../model/config.js';
import { BYTE_PREFIX, PATCH_PREFIX, TIED_LM_HEAD, buildLayout, type ParamLayout, type Task } from '../model/params.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';

export type Tensors = Map<string, { shape: number[]; data: Float32Array }>;

const IGNORED = /\.attn\.(bias|masked_bias)$/;

function shapeOf(t: Tensors, name: string): number[] {
  const e = t.get(name);
  if (!e) throw new Error(`missing tensor ${name}`);
  return e.shape;
}

function layerCount(t: Tensors, prefix: string): number {
  let n = 0;
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}h\\.(\\d+)\\.`);
  for (const k of t.keys()) {
    const m = re.exec(k);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/** The configuration and task the tensors describe. */
export function inferConfig(t: Tensors): { config: BgptConfig; task: Task } {
  const [H] = shapeOf(t, 'patch_level_decoder.patch_embedding.bias');
  const w = shapeOf(t, 'patch_level_decoder.patch_embedding.weight');
  if (w.length !== 2 || w[0] !== H || w[1] % VOCAB !== 0) throw new Error(`patch_embedding.weight has shape [${w}], expected [${H}, S·${VOCAB}]`);
  const [L] = shapeOf(t, `${PATCH_PREFIX}wpe.weight`);
  const config: BgptConfig = {
    patchSize: w[1] / VOCAB, patchLength: L, hidden: H,
    patchLayers: layerCount(t, PATCH_PREFIX), byteLayers: layerCount(t, BYTE_PREFIX), heads: defaultHeads(H),
  };
  if (t.has('classifier.weight')) {
    const [K] = shapeOf(t, 'classifier.weight');
    return { config, task: { kind: 'classification', labels: K } };
  }
  if (!t.has(`${BYTE_PREFIX}wte.weight`)) throw new Error('neither a byte-level decoder nor a classifier in these weights');
  return { config, task: { kind: 'generative' } };
}

/** Copies the tensors into a flat buffer in `layout` order, checking names and shapes. */
export function packParams(layout: ParamLayout, t: Tensors): Float32Array {
  const flat = new Float32Array(layout.size);
  for (const s of layout.specs) {
    const e = t.get(s.name);
    if (!e) throw new Error(`missing tensor ${s.name}`);
    if (e.shape.length !== s.shape.length || e.shape.some((d, i) => d !== s.shape[i])) {
      throw new Error(`tensor ${s.name} has shape [${e.shape}], the model needs [${s.shape}]`);
    }
    flat.set(e.data, s.offset);
  }
  for (const name of t.keys()) {
    if (!layout.byName.has(name) && name !== TIED_LM_HEAD && !IGNORED.test(name)) throw new Error(`unexpected tensor ${name}`);
  }
  return flat;
}

export type LoadedModel =
  | { task: 'generative'; config: BgptConfig; model: BgptModel }
  | { task: 'classification'; config: BgptConfig; model: BgptClassifier };

/** A model built from named tensors. */
export function modelFromTensors(k: Kernels, t: Tensors, opts: { grad?: boolean } = {}): LoadedModel {
  const { config, task } = inferConfig(t);
  const params = packParams(buildLayout(config, task), t);
  if (task.kind === 'classification') {
    return { task: 'classification', config, model: new BgptClassifier(k, config, task.labels, { params, grad: opts.grad }) };
  }
  return { task: 'generative', config, model: new BgptModel(k, config, { params, grad: opts.grad }) };
}

/** Loads a weights file; every error names the file. */
export function loadModelFile(k: Kernels, path: string, opts: { grad?: boolean } = {}): LoadedModel {
  try {
    return modelFromTensors(k, readSafetensors(path).tensors, opts);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Writes a model's parameters as safetensors under their state-dict keys (atomically). */
export function saveWeights(path: string, layout: ParamLayout, data: Float32Array, metadata: Record<string, string> = {}): void {
  writeSafetensors(path, layout.specs.map((s) => ({ name: s.name, shape: s.shape, data: data.subarray(s.offset, s.offset + s.size) })), metadata);
}
