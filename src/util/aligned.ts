/**
 * Typed arrays whose data starts on a 64-byte boundary (a cache line, one AVX-512 vector) once the native
 * backend has loaded: its kernels load whole vectors, and a vector that straddles two cache lines costs two
 * (one-row products over weights that are not aligned run markedly slower: docs/performance.md).
 * Node's allocator places large arrays 16 bytes past a boundary. JavaScript cannot see addresses, so the
 * addon reports them (setAddressProbe); without it these are plain arrays.
 */
let probe: ((a: ArrayBufferView) => number) | null = null;

/** Installed by the native backend's loader: the address of an array's data modulo 64. */
export function setAddressProbe(f: (a: ArrayBufferView) => number): void {
  probe = f;
}

// Small arrays may live on the JavaScript heap, where the garbage collector moves them: left as they are.
const MIN_BYTES = 4096;

function aligned<T extends Float32Array | Uint16Array>(n: number, make: (m: number) => T): T {
  const width = make(0).BYTES_PER_ELEMENT;
  if (!probe || n * width < MIN_BYTES) return make(n);
  const pad = 64 / width, raw = make(n + pad), off = probe(raw);
  if (off % width !== 0) return raw.subarray(0, n) as T;
  const skip = ((64 - off) % 64) / width;
  return raw.subarray(skip, skip + n) as T;
}

/** A zeroed Float32Array of n values (aligned when the native backend is loaded). */
export function alignedFloat32(n: number): Float32Array {
  return aligned(n, (m) => new Float32Array(m));
}

/** A zeroed Uint16Array of n values (aligned when the native backend is loaded). */
export function alignedUint16(n: number): Uint16Array {
  return aligned(n, (m) => new Uint16Array(m));
}
