/**
 * Reads torch checkpoints in the zip format of torch ≥ 1.6 (`<archive>/data.pkl`, `<archive>/data/<key>`,
 * `<archive>/version`): the checkpoint dict {model, optimizer?, lr_sched?, epoch, …} or a bare state dict.
 * The pickle is read with the restricted unpickler; tensors stay descriptors until `read`, which takes just
 * that tensor's bytes from its storage entry (float32, float16, bfloat16 or float64, any strides).
 */
import type { RandomAccess } from '../access.js';
import { DTYPE_BYTES, convertToFloat32, isFloatDType } from '../dtypes.js';
import { outFor, type TensorInfo, type TensorSource } from '../source.js';
import { PyDict, TensorRef, asInt, isContiguous, type PyValue } from './pyvalue.js';
import { unpickle } from './unpickle.js';
import { ZipReader } from './zip.js';

const MAX_PICKLE = 64 * 1024 * 1024;

/** What the checkpoint dict says besides the weights (the original's training scripts' keys). */
export interface PthInfo {
  /** Ordered label names of a classifier (`labels`: {name: id}). */
  labels?: string[];
  epoch?: number;
  bestEpoch?: number;
  minEvalLoss?: number;
  maxEvalAcc?: number;
  /** Top-level keys of the checkpoint dict (empty for a bare state dict). */
  keys: string[];
  hasOptimizer: boolean;
  hasScheduler: boolean;
}

export class PthSource implements TensorSource {
  readonly format = 'pth' as const;
  readonly tensors = new Map<string, TensorInfo>();
  readonly refs = new Map<string, TensorRef>();
  readonly root: PyValue;
  readonly info: PthInfo;
  readonly prefix: string;
  private zip: ZipReader;
  /** The bytes of the last slice read (readSlice converts them at once, so one buffer serves every slice). */
  private sliceBytes = new Uint8Array(0);

  /** Opens `path` on disk, or reads the archive through `file` (then `path` only names it). */
  constructor(readonly path: string, file?: RandomAccess) {
    this.zip = new ZipReader(path, file);
    try {
      const pkls = [...this.zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
      if (pkls.length !== 1) throw new Error(pkls.length ? 'more than one data.pkl in the archive' : 'not a torch checkpoint (no <archive>/data.pkl in the zip)');
      this.prefix = pkls[0].slice(0, -'data.pkl'.length);
      const order = this.zip.entries.get(`${this.prefix}byteorder`);
      if (order && String.fromCharCode(...this.zip.read(order.name, 16)).trim() !== 'little') throw new Error('big-endian torch checkpoints are not supported');
      this.root = unpickle(this.zip.read(pkls[0], MAX_PICKLE));
      const { sd, top } = findStateDict(this.root);
      this.info = describe(top);
      if (top) {
        this.info.minEvalLoss = this.scalar(top.get('min_eval_loss'));
        this.info.maxEvalAcc = this.scalar(top.get('max_eval_acc'));
      }
      const keys = [...sd.map.keys()];
      const strip = keys.length > 0 && keys.every((k) => typeof k === 'string' && k.startsWith('module.')); // saved from a DDP wrapper
      for (const [k, v] of sd.map) {
        if (typeof k !== 'string') throw new Error('state dict has a key that is not a string');
        if (!(v instanceof TensorRef)) throw new Error(`state dict entry ${k} is not a tensor`);
        const name = strip ? k.slice('module.'.length) : k;
        this.checkStorage(name, v);
        this.refs.set(name, v);
        this.tensors.set(name, { dtype: v.storage.dtype, shape: v.shape });
      }
    } catch (e) {
      this.zip.close();
      throw e;
    }
  }

  private storageEntry(t: TensorRef): string {
    return `${this.prefix}data/${t.storage.key}`;
  }

  /** The storage must be an entry of the archive big enough for all its declared elements. */
  private checkStorage(name: string, t: TensorRef): void {
    const entry = this.zip.entries.get(this.storageEntry(t));
    if (!entry) throw new Error(`tensor ${name}: its storage ${t.storage.key} is not in the archive`);
    const need = t.storage.numel * DTYPE_BYTES[t.storage.dtype];
    if (entry.size < need) throw new Error(`tensor ${name}: storage ${t.storage.key} has ${entry.size} bytes, the pickle declares ${need}`);
  }

  /**
   * Refuses to read `names` when they hold more elements than their distinct storages: views sharing (or
   * re-striding) storage could otherwise make a small file expand without bound in memory.
   */
  checkBacked(names: Iterable<string>): void {
    let want = 0, have = 0;
    const seen = new Set<string>();
    for (const n of names) {
      const t = this.refs.get(n);
      if (!t) continue;
      want += t.numel;
      if (!seen.has(t.storage.key)) {
        seen.add(t.storage.key);
        have += t.storage.numel;
      }
    }
    if (want > have) throw new Error(`the tensors hold ${want} values but their storages only ${have} (overlapping views; refused)`);
  }

  read(name: string, out?: Float32Array): Float32Array {
    const t = this.refs.get(name);
    if (!t) throw new Error(`no tensor named ${name}`);
    return this.readRef(name, t, out);
  }

  readSlice(name: string, start: number, out: Float32Array): Float32Array | null {
    const t = this.refs.get(name);
    if (!t) throw new Error(`no tensor named ${name}`);
    const dtype = t.storage.dtype, es = DTYPE_BYTES[dtype], n = t.shape.reduce((a, b) => a * b, 1);
    if (!isFloatDType(dtype)) throw new Error(`tensor ${name} is ${dtype}, not a floating-point type`);
    if (!isContiguous(t)) return null;
    if (start < 0 || start + out.length > n) throw new Error(`elements ${start}..${start + out.length} lie outside tensor ${name} (${n})`);
    if (out.length === 0) return out;
    if (this.sliceBytes.length < out.length * es) this.sliceBytes = new Uint8Array(out.length * es);
    return convertToFloat32(this.zip.readRange(this.storageEntry(t), (t.offset + start) * es, out.length * es, this.sliceBytes), dtype, out);
  }

  readRef(name: string, t: TensorRef, out?: Float32Array): Float32Array {
    const dtype = t.storage.dtype, es = DTYPE_BYTES[dtype];
    if (!isFloatDType(dtype)) throw new Error(`tensor ${name} is ${dtype}, not a floating-point type`);
    const dst = outFor(name, t.shape, out);
    const n = dst.length;
    if (n === 0) return dst;
    const entry = this.storageEntry(t);
    if (isContiguous(t)) return convertToFloat32(this.zip.readRange(entry, t.offset * es, n * es), dtype, dst);
    // strided view: read the span it touches, then gather
    let span = 1;
    for (let i = 0; i < t.shape.length; i++) span += (t.shape[i] - 1) * t.stride[i];
    const bytes = this.zip.readRange(entry, t.offset * es, span * es);
    const index = span < 2 ** 32 ? new Uint32Array(n) : new Float64Array(n);
    const dims = t.shape.length, idx = new Array<number>(dims).fill(0);
    let at = 0;
    for (let k = 0; k < n; k++) {
      index[k] = at;
      for (let d = dims - 1; d >= 0; d--) {
        if (++idx[d] < t.shape[d]) {
          at += t.stride[d];
          break;
        }
        at -= (t.shape[d] - 1) * t.stride[d];
        idx[d] = 0;
      }
    }
    return convertToFloat32(bytes, dtype, dst, index);
  }

  /** A one-element tensor of the checkpoint dict (e.g. a loss stored as a 0-dim tensor), else undefined. */
  scalar(v: PyValue | undefined): number | undefined {
    if (typeof v === 'number') return v;
    if (v instanceof TensorRef && v.numel === 1 && isFloatDType(v.storage.dtype)) {
      this.checkStorage('scalar', v);
      return this.readRef('scalar', v)[0];
    }
    return undefined;
  }

  close(): void {
    this.zip.close();
  }
}

/** The state dict: `model` (or `state_dict`) of a checkpoint dict, or the dict itself when it holds tensors. */
function findStateDict(root: PyValue): { sd: PyDict; top: PyDict | null } {
  if (!(root instanceof PyDict)) throw new Error('the checkpoint is not a dict');
  for (const k of ['model', 'state_dict', 'model_state_dict']) {
    const v = root.get(k);
    if (v instanceof PyDict) return { sd: v, top: root };
  }
  const values = [...root.map.values()];
  if (values.length && values.every((v) => v instanceof TensorRef)) return { sd: root, top: null };
  throw new Error(`no state dict in the checkpoint (keys: ${[...root.map.keys()].slice(0, 8).join(', ')}; expected "model" or a dict of tensors)`);
}

function describe(top: PyDict | null): PthInfo {
  const info: PthInfo = { keys: top ? [...top.map.keys()].map(String) : [], hasOptimizer: !!top?.map.has('optimizer'), hasScheduler: !!top?.map.has('lr_sched') };
  if (!top) return info;
  info.epoch = asInt(top.get('epoch'));
  info.bestEpoch = asInt(top.get('best_epoch'));
  const labels = top.get('labels');
  if (labels !== undefined && labels !== null) {
    if (!(labels instanceof PyDict)) throw new Error('"labels" is not a dict {name: id}');
    const list: string[] = new Array(labels.map.size);
    for (const [name, id] of labels.map) {
      if (typeof name !== 'string' || typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= list.length || list[id] !== undefined) {
        throw new Error('"labels" must map each label name to a distinct id 0..K-1');
      }
      list[id] = name;
    }
    info.labels = list;
  }
  return info;
}
