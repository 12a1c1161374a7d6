/** A model's parameters as the layers see them: the flat value buffer, the optional gradient buffer. */
import type { ParamLayout } from './layout.js';

export class Params {
  constructor(
    readonly layout: ParamLayout,
    readonly data: Float32Array,
    /** null for inference-only models. */
    public grad: Float32Array | null,
  ) {}

  w(name: string): Float32Array {
    return this.layout.view(this.data, name);
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

  get(name: string, size: number): Float32Array {
    return grow(this.floats, name, size, (n) => new Float32Array(n));
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
