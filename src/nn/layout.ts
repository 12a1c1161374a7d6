/**
 * Parameter layout: every tensor of a model is a named slice (its original state-dict key) of one flat
 * Float32Array. Gradients and AdamW moments use the same layout, so one AdamW call updates everything and a
 * checkpoint is the flat buffer plus this table.
 */
export interface TensorSpec {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export class ParamLayout {
  readonly specs: TensorSpec[] = [];
  readonly byName = new Map<string, TensorSpec>();
  size = 0;

  add(name: string, shape: number[]): void {
    const size = shape.reduce((a, b) => a * b, 1);
    // 16-float alignment keeps every tensor on a 64-byte boundary for the native kernels
    const offset = this.size;
    const spec = { name, shape, offset, size };
    this.specs.push(spec);
    this.byName.set(name, spec);
    this.size = offset + Math.ceil(size / 16) * 16;
  }

  get(name: string): TensorSpec {
    const s = this.byName.get(name);
    if (!s) throw new Error(`no parameter named ${name}`);
    return s;
  }

  /** The slice of a flat buffer that holds tensor `name`. */
  view(buf: Float32Array, name: string): Float32Array {
    const s = this.get(name);
    return buf.subarray(s.offset, s.offset + s.size);
  }

  /** Number of scalars (not counting alignment padding). */
  count(): number {
    return this.specs.reduce((a, s) => a + s.size, 0);
  }
}
