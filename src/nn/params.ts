/**
 * A model's parameters as the layers see them: the flat value buffer, the optional gradient buffer, and for
 * reduced-precision inference the matrix weights kept in 16 bits (not in the flat buffer at all).
 */
import type { HalfType } from '../backend/types.js';
import { ParamLayout } from './layout.js';
import { PLAIN, type Allocator } from '../util/aligned.js';

/** Weights kept in 16 bits: their own layout (offsets in 16-bit units) over one Uint16Array. */
export interface HalfWeights {
  dtype: HalfType;
  /** bf16 weights only: products in bf16 arithmetic (activations rounded to bf16; Kernels.matmulW16). */
  bf16Activations?: boolean;
  layout: ParamLayout;
  data: Uint16Array;
}

/** The weights reduced precision keeps in 16 bits: every Conv1D (c_attn, c_proj, c_fc) weight, 12·H² a block. */
export function isHalfWeight(name: string): boolean {
  return /\.(c_attn|c_proj|c_fc)\.weight$/.test(name);
}

/** `layout` split into the tensors kept in fp32 and those kept in 16 bits (each a layout of its own). */
export function splitLayout(layout: ParamLayout): { f32: ParamLayout; half: ParamLayout } {
  const f32 = new ParamLayout(), half = new ParamLayout();
  for (const s of layout.specs) (isHalfWeight(s.name) ? half : f32).add(s.name, s.shape);
  return { f32, half };
}

export class Params {
  constructor(
    readonly layout: ParamLayout,
    readonly data: Float32Array,
    /** null for inference-only models. */
    public grad: Float32Array | null,
    /** Weights kept in 16 bits (reduced-precision inference; `layout` then holds only the others). */
    readonly half: HalfWeights | null = null,
  ) {}

  w(name: string): Float32Array {
    if (this.half?.layout.byName.has(name)) throw new Error(`${name} is kept in ${this.half.dtype}`);
    return this.layout.view(this.data, name);
  }

  /** The 16-bit weights of `name`, or null when it is in fp32. */
  w16(name: string): Uint16Array | null {
    const s = this.half?.layout.byName.get(name);
    return s ? this.half!.data.subarray(s.offset, s.offset + s.size) : null;
  }

  /** The gradient slice of `name` (throws when the model has no gradients). */
  g(name: string): Float32Array {
    if (!this.grad) throw new Error('this model was built without gradients');
    return this.layout.view(this.grad, name);
  }
}

/**
 * Activation storage reused across steps: each named buffer grows to the largest shape seen and is handed out
 * as an exact-size view, so the hot loop allocates nothing once shapes are stable.
 */
export class Buffers {
  private floats = new Map<string, Float32Array>();
  private ints32 = new Map<string, Int32Array>();

  constructor(private alloc: Allocator = PLAIN) {}

  get(name: string, size: number): Float32Array {
    return grow(this.floats, name, size, this.alloc.f32);
  }

  /** Same, for integer buffers (token ids). */
  ints(name: string, size: number): Int32Array {
    return grow(this.ints32, name, size, (n) => new Int32Array(n));
  }

  /** Drops every buffer (frees the memory of a large batch). */
  clear(): void {
    this.floats.clear();
    this.ints32.clear();
  }
}

/** An exact-size view of the named buffer, regrown (by at least 25 %, to settle quickly) when too small. */
function grow<T extends Float32Array | Int32Array>(map: Map<string, T>, name: string, size: number, make: (n: number) => T): T {
  let b = map.get(name);
  if (!b || b.length < size) {
    b = make(Math.max(size, Math.ceil((b?.length ?? 0) * 1.25)));
    map.set(name, b);
  }
  return b.subarray(0, size) as T;
}
