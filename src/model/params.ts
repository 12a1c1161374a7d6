/**
 * The bGPT parameter layout: which state-dict keys, in which order and shape, make up a generative model or a
 * classifier (the ParamLayout table itself lives in nn/layout.ts), and their GPT-2 initialisation.
 */
import type { HalfType } from '../backend/types.js';
import { ParamLayout } from '../nn/layout.js';
import { Params, splitLayout } from '../nn/params.js';
import type { BgptConfig } from './config.js';
import { VOCAB } from './config.js';
import type { Rng } from '../util/rng.js';
import { PLAIN, type Allocator } from '../util/aligned.js';

/** GPT-2 transformer keys (transformers 4.18 names) under `prefix` (e.g. "patch_level_decoder.base."). */
function addGpt2(l: ParamLayout, prefix: string, vocab: number, positions: number, H: number, layers: number): void {
  l.add(`${prefix}wte.weight`, [vocab, H]);
  l.add(`${prefix}wpe.weight`, [positions, H]);
  for (let i = 0; i < layers; i++) {
    const p = `${prefix}h.${i}.`;
    l.add(`${p}ln_1.weight`, [H]);
    l.add(`${p}ln_1.bias`, [H]);
    l.add(`${p}attn.c_attn.weight`, [H, 3 * H]);
    l.add(`${p}attn.c_attn.bias`, [3 * H]);
    l.add(`${p}attn.c_proj.weight`, [H, H]);
    l.add(`${p}attn.c_proj.bias`, [H]);
    l.add(`${p}ln_2.weight`, [H]);
    l.add(`${p}ln_2.bias`, [H]);
    l.add(`${p}mlp.c_fc.weight`, [H, 4 * H]);
    l.add(`${p}mlp.c_fc.bias`, [4 * H]);
    l.add(`${p}mlp.c_proj.weight`, [4 * H, H]);
    l.add(`${p}mlp.c_proj.bias`, [H]);
  }
  l.add(`${prefix}ln_f.weight`, [H]);
  l.add(`${prefix}ln_f.bias`, [H]);
}

export const PATCH_PREFIX = 'patch_level_decoder.base.';
export const BYTE_PREFIX = 'byte_level_decoder.base.transformer.';
/** The byte decoder's LM head is tied to its wte: it is not a separate tensor here. */
export const TIED_LM_HEAD = 'byte_level_decoder.base.lm_head.weight';

/** The layout of a generative model (`classes` 0) or of a classifier with `classes` outputs. */
export function buildLayout(c: BgptConfig, classes = 0): ParamLayout {
  const l = new ParamLayout();
  const H = c.hidden;
  l.add('patch_level_decoder.patch_embedding.weight', [H, c.patchSize * VOCAB]);
  l.add('patch_level_decoder.patch_embedding.bias', [H]);
  addGpt2(l, PATCH_PREFIX, 1, c.patchLength, H, c.patchLayers);
  if (classes === 0) {
    addGpt2(l, BYTE_PREFIX, VOCAB, c.patchSize + 1, H, c.byteLayers);
  } else {
    l.add('classifier.weight', [classes, H]);
    l.add('classifier.bias', [classes]);
  }
  return l;
}

/**
 * GPT-2 initialisation (transformers' _init_weights): weights normal(0, 0.02), `c_proj` weights
 * normal(0, 0.02/√(2·layers)) of their own decoder, LayerNorm weight 1 and bias 0, every bias 0.
 */
export function initParams(layout: ParamLayout, buf: Float32Array, c: BgptConfig, rng: Rng): void {
  buf.fill(0);
  for (const s of layout.specs) {
    const v = buf.subarray(s.offset, s.offset + s.size);
    const leaf = s.name.split('.').slice(-2).join('.');
    if (s.name.endsWith('.bias')) continue;
    if (/\.ln_(1|2|f)\.weight$/.test(s.name)) {
      v.fill(1);
      continue;
    }
    let std = 0.02;
    if (leaf === 'c_proj.weight') {
      const layers = s.name.startsWith('patch_level_decoder') ? c.patchLayers : c.byteLayers;
      std = 0.02 / Math.sqrt(2 * layers);
    }
    for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
  }
}

/** How a model gets its parameters (see ModelOptions in bgpt.ts). */
export interface ParamSource {
  grad?: boolean;
  params?: Float32Array;
  rng?: Rng;
  half?: { dtype: HalfType; data: Uint16Array; bf16Activations?: boolean };
}

/**
 * The parameters of a model of `layout`: the given buffer adopted as is (not copied: a 110M-parameter model
 * is 440 MB), else zeros or GPT-2 initialisation. With `half`, the Conv1D weights are the given 16-bit
 * buffer and `params` holds only the other tensors (splitLayout).
 */
export function modelParams(layout: ParamLayout, c: BgptConfig, o: ParamSource, alloc: Allocator = PLAIN): Params {
  if (o.half && (o.grad || !o.params)) throw new Error('16-bit weights are for inference with given parameters');
  const split = o.half ? splitLayout(layout) : null, f32 = split ? split.f32 : layout;
  const data = o.params ?? alloc.f32(f32.size);
  if (data.length !== f32.size) throw new Error(`parameter buffer has ${data.length} values, layout needs ${f32.size}`);
  if (split && o.half!.data.length !== split.half.size) throw new Error(`16-bit buffer has ${o.half!.data.length} values, layout needs ${split.half.size}`);
  if (!o.params && o.rng) initParams(layout, data, c, o.rng);
  if (o.half?.bf16Activations && o.half.dtype !== 'bf16') throw new Error(`bf16 products need bf16 weights, not ${o.half.dtype}`);
  const half = split ? { dtype: o.half!.dtype, layout: split.half, data: o.half!.data, bf16Activations: o.half!.bf16Activations } : null;
  return new Params(f32, data, o.grad ? alloc.f32(f32.size) : null, half);
}
