/**
 * The values a torch checkpoint's pickle may hold, as plain data: no Python object is ever constructed.
 * Tensors are descriptors (storage key, dtype, offset, shape, strides) whose bytes stay in the archive until
 * they are read.
 */
import type { DType } from '../dtypes.js';

export type PyKey = string | number | bigint | boolean | null;
export type PyValue = PyKey | Uint8Array | PyValue[] | PyTuple | PyDict | PyFloat | StorageType | StorageRef | TensorRef;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A dict or collections.OrderedDict (insertion order kept either way). */
export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  constructor(readonly ordered = false, entries: [PyKey, PyValue][] = []) {
    for (const [k, v] of entries) this.map.set(k, v);
  }
  get(k: PyKey): PyValue | undefined {
    return this.map.get(k);
  }
}

/** A Python float that must be written as a float even when it is integral (e.g. 1.0). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A torch storage class (torch.FloatStorage, …) named in a persistent id: only a type tag. */
export class StorageType {
  constructor(readonly name: string, readonly dtype: DType) {}
}

/** One storage of the archive: `data/<key>`, `numel` elements of `dtype`. */
export class StorageRef {
  constructor(readonly key: string, readonly dtype: DType, readonly location: string, readonly numel: number) {}
}

/** A strided view into a storage (torch._utils._rebuild_tensor_v2). */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
    readonly requiresGrad = false,
    readonly parameter = false,
  ) {}

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/** Row-major strides of `shape`. */
export function contiguousStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function isContiguous(t: TensorRef): boolean {
  const c = contiguousStrides(t.shape);
  return t.shape.every((d, i) => d === 1 || t.stride[i] === c[i]);
}

/** Numbers from a value that must be an integer (Python int). */
export function asInt(v: PyValue | undefined): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

