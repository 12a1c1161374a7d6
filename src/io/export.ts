/**
 * Export to the original's formats. `.pth`: the checkpoint dict of the original training scripts —
 * {model, epoch, best_epoch, min_eval_loss} (generative / conversion) or {model, epoch, best_epoch,
 * max_eval_acc, labels} (classification) — where `model` is a state dict that loads with
 * load_state_dict(strict=True) into the original model: every parameter, the attention buffers
 * (`attn.bias`, `attn.masked_bias`) and the tied `lm_head.weight` (sharing wte's storage, as torch saves it).
 * torch < 2.0 cannot read Python floats with torch.load(weights_only=True), so min_eval_loss / max_eval_acc
 * are written as 0-dim float64 tensors (they compare and print like floats in the original scripts).
 * With `optimizer`, the AdamW state and the scheduler position are added as `optimizer` / `lr_sched` so the
 * original train-gen.py / train-cls.py can resume; those hold Python floats (lr, betas, …), which
 * torch.load reads with weights_only=True from torch 2.0 on (older: weights_only=False).
 * `.safetensors`: the parameters under their state-dict names (no buffers, no tied lm_head).
 */
import { BYTE_PREFIX, PATCH_PREFIX, TIED_LM_HEAD, buildLayout } from '../model/params.js';
import { classCount } from '../model/task.js';
import { MASK_VALUE } from '../nn/attention.js';
import type { Checkpoint } from './checkpoint.js';
import { encodeFloat32 } from './dtypes.js';
import { META, encodeJson, scheduledLr } from './meta.js';
import { PyDict, PyFloat, PyTuple, StorageRef, TensorRef, contiguousStrides } from './pth/pyvalue.js';
import { writePth, type StorageBytes } from './pth/write-pth.js';
import { writeSafetensors } from './safetensors.js';

export type ExportDtype = 'F32' | 'F16' | 'BF16';

export interface ExportOptions {
  /** Parameter storage type (default F32); buffers keep theirs (uint8 mask, float32 masked_bias). */
  dtype?: ExportDtype;
  /** Add `optimizer` and `lr_sched` (needs the checkpoint's optimizer state). */
  optimizer?: boolean;
}

class Storages {
  readonly data = new Map<string, StorageBytes>();
  private next = 0;
  add(dtype: StorageRef['dtype'], numel: number, bytes: StorageBytes): StorageRef {
    const s = new StorageRef(String(this.next++), dtype, 'cpu', numel);
    this.data.set(s.key, bytes);
    return s;
  }
  tensor(dtype: StorageRef['dtype'], shape: number[], bytes: StorageBytes, requiresGrad = false): TensorRef {
    const numel = shape.reduce((a, b) => a * b, 1);
    return new TensorRef(this.add(dtype, numel, bytes), 0, shape, contiguousStrides(shape), requiresGrad);
  }
  float32(shape: number[], data: Float32Array, dtype: ExportDtype = 'F32'): TensorRef {
    return this.tensor(dtype, shape, () => encodeFloat32(data, dtype));
  }
  scalar(v: number, dtype: 'F64' | 'F32' = 'F64'): TensorRef {
    const b = Buffer.alloc(dtype === 'F64' ? 8 : 4);
    if (dtype === 'F64') b.writeDoubleLE(v);
    else b.writeFloatLE(v);
    return this.tensor(dtype, [], () => b);
  }
}

/** The causal-mask buffer of transformers 4.18's GPT2Attention: uint8 lower-triangular [1, 1, P, P]. */
function trilBytes(P: number): Uint8Array {
  const b = new Uint8Array(P * P);
  for (let i = 0; i < P; i++) b.fill(1, i * P, i * P + i + 1);
  return b;
}

/** Writes a checkpoint as a torch .pth the original code loads. */
export function exportPth(path: string, ck: Checkpoint, opts: ExportOptions = {}): void {
  const layout = buildLayout(ck.config, classCount(ck.task));
  const st = new Storages();
  const dtype = opts.dtype ?? 'F32';
  const sd = new PyDict(true);
  const { patchLength: L, patchSize: S } = ck.config;
  const mask = { [PATCH_PREFIX]: st.tensor('U8', [1, 1, L, L], () => trilBytes(L)), [BYTE_PREFIX]: st.tensor('U8', [1, 1, S + 1, S + 1], () => trilBytes(S + 1)) };
  const maskedBias = st.scalar(MASK_VALUE, 'F32');
  let wte: TensorRef | undefined;
  for (const s of layout.specs) {
    const t = st.float32(s.shape, ck.params.subarray(s.offset, s.offset + s.size), dtype);
    sd.map.set(s.name, t);
    // state_dict order of the original: a block's attention buffers come right after its ln_1
    const m = /^(.*\.)h\.\d+\.ln_1\.bias$/.exec(s.name);
    if (m) {
      const base = s.name.slice(0, -'ln_1.bias'.length);
      sd.map.set(`${base}attn.bias`, mask[m[1] as keyof typeof mask]);
      sd.map.set(`${base}attn.masked_bias`, maskedBias);
    }
    if (s.name === `${BYTE_PREFIX}wte.weight`) wte = t;
  }
  if (wte) sd.map.set(TIED_LM_HEAD, wte); // tied: the same storage, as torch.save writes it
  const tr = ck.training;
  const root = new PyDict(false, [['model', sd]]);
  if (opts.optimizer) {
    if (!ck.optimizer) throw new Error('the checkpoint holds no optimizer state to export');
    root.map.set('optimizer', optimizerState(ck, layout.specs, st, dtype));
    root.map.set('lr_sched', schedulerState(ck));
  }
  root.map.set('epoch', tr?.epoch ?? 0);
  root.map.set('best_epoch', tr?.bestEpoch ?? 0);
  if (ck.task.kind === 'classification') {
    root.map.set('max_eval_acc', st.scalar(tr?.bestEvalAcc ?? 0));
    root.map.set('labels', new PyDict(false, ck.task.labels.map((name, i) => [name, i])));
  } else {
    // the original's "nothing evaluated yet" value is 100
    const best = tr?.bestEvalLoss;
    root.map.set('min_eval_loss', st.scalar(best !== undefined && Number.isFinite(best) ? best : 100));
  }
  writePth(path, root, st.data);
}

/** torch.optim.AdamW.state_dict(): per-parameter exp_avg / exp_avg_sq / step, one param group. */
function optimizerState(ck: Checkpoint, specs: { name: string; shape: number[]; offset: number; size: number }[], st: Storages, dtype: ExportDtype): PyDict {
  const o = ck.optimizer!;
  const state = new PyDict();
  specs.forEach((s, i) => {
    state.map.set(i, new PyDict(false, [
      ['step', st.scalar(o.step, 'F32')],
      ['exp_avg', st.float32(s.shape, o.m.subarray(s.offset, s.offset + s.size), dtype)],
      ['exp_avg_sq', st.float32(s.shape, o.v.subarray(s.offset, s.offset + s.size), dtype)],
    ]));
  });
  const sched = ck.training?.schedule;
  const group = new PyDict(false, [
    ['lr', new PyFloat(sched ? scheduledLr(sched) : o.lr)],
    ['betas', new PyTuple([new PyFloat(o.beta1), new PyFloat(o.beta2)])],
    ['eps', new PyFloat(o.eps)],
    ['weight_decay', new PyFloat(o.weightDecay)],
    ['amsgrad', false],
    ['foreach', null],
    ['maximize', false],
    ['capturable', false],
  ]);
  if (sched) group.map.set('initial_lr', new PyFloat(sched.baseLr));
  group.map.set('params', specs.map((_, i) => i));
  return new PyDict(false, [['state', state], ['param_groups', [group]]]);
}

/** torch LambdaLR.state_dict() of transformers' cosine schedule at the checkpoint's position. */
function schedulerState(ck: Checkpoint): PyDict {
  const s = ck.training?.schedule;
  if (!s) throw new Error('the checkpoint holds no schedule position to export');
  return new PyDict(false, [
    ['base_lrs', [new PyFloat(s.baseLr)]],
    ['last_epoch', s.position],
    ['verbose', false],
    ['_step_count', s.position + 1],
    ['_get_lr_called_within_step', false],
    ['_last_lr', [new PyFloat(scheduledLr(s))]],
    ['lr_lambdas', [null]],
  ]);
}

/** Writes the parameters as plain safetensors (what other tools load), with the config and task noted. */
export function exportSafetensors(path: string, ck: Checkpoint, opts: { dtype?: ExportDtype; provenance?: Record<string, unknown> } = {}): void {
  const layout = buildLayout(ck.config, classCount(ck.task));
  const tensors = layout.specs.map((s) => ({ name: s.name, shape: s.shape, data: ck.params.subarray(s.offset, s.offset + s.size), dtype: opts.dtype }));
  const meta: Record<string, string> = { [META.format]: 'pt', [META.config]: encodeJson(ck.config), [META.task]: encodeJson(ck.task) };
  if (opts.provenance) meta[META.provenance] = JSON.stringify(opts.provenance);
  writeSafetensors(path, tensors, meta);
}

