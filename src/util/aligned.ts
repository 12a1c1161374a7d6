/**
 * Where a backend wants its arrays: `Allocator` hands out zeroed typed arrays. The native backend's starts their
 * data on a 64-byte boundary (a cache line, one AVX-512 vector): its kernels load whole vectors, and a vector
 * that straddles two cache lines costs two (one-row products over unaligned weights run markedly slower:
 * docs/performance.md). Node's allocator places large arrays 16 bytes past a boundary and JavaScript cannot
 * see addresses, so the addon reports them (`probe`). Every other backend takes plain arrays.
 */
export interface Allocator {
  f32(n: number): Float32Array;
  u16(n: number): Uint16Array;
}

export const PLAIN: Allocator = { f32: (n) => new Float32Array(n), u16: (n) => new Uint16Array(n) };

/** A backend's allocator (Kernels.alloc), plain arrays where it has none. */
export const allocatorOf = (k: { readonly alloc?: Allocator }): Allocator => k.alloc ?? PLAIN;

// Small arrays may live on the JavaScript heap, where the garbage collector moves them: left as they are.
const MIN_BYTES = 4096;

/** Arrays aligned to 64 bytes, `probe` giving the address of an array's data modulo 64. */
export function alignedAllocator(probe: (a: ArrayBufferView) => number): Allocator {
  const aligned = <T extends Float32Array | Uint16Array>(n: number, make: (m: number) => T, width: number): T => {
    if (n * width < MIN_BYTES) return make(n);
    const pad = 64 / width, raw = make(n + pad), off = probe(raw);
    if (off % width !== 0) return raw.subarray(0, n) as T;
    const skip = ((64 - off) % 64) / width;
    return raw.subarray(skip, skip + n) as T;
  };
  return { f32: (n) => aligned(n, (m) => new Float32Array(m), 4), u16: (n) => aligned(n, (m) => new Uint16Array(m), 2) };
}
