/**
 * Where `x`'s first `n` floats lie inside `whole` (a float index), or -1 when they are not a view of it: how
 * a backend that keeps its own copy of a model's parameters (WebAssembly memory, a GPU buffer, a bf16 copy)
 * knows that an operand is a weight it already holds.
 */
export function viewIndex(whole: Float32Array | null, x: Float32Array, n = x.length): number {
  if (!whole || x.buffer !== whole.buffer) return -1;
  const at = (x.byteOffset - whole.byteOffset) / 4;
  return at >= 0 && at + n <= whole.length ? at : -1;
}
