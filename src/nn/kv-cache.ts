/**
 * Key/value cache of a GPT-2 stack: per block, the keys and values of every position seen so far, so that
 * extending a sequence by one position costs one row of work instead of recomputing the prefix.
 */
export class KVCache {
  readonly keys: Float32Array[] = [];
  readonly values: Float32Array[] = [];
  /** Positions cached. */
  length = 0;

  constructor(layers: number, readonly capacity: number, readonly H: number) {
    for (let i = 0; i < layers; i++) {
      this.keys.push(new Float32Array(capacity * H));
      this.values.push(new Float32Array(capacity * H));
    }
  }

  reset(): void {
    this.length = 0;
  }

  /** Appends R rows of k and v, read from a fused qkv buffer [R, 3H] (k at column H, v at 2H). */
  append(layer: number, qkv: Float32Array, R: number, at: number): void {
    const H = this.H, k = this.keys[layer], v = this.values[layer];
    if (at + R > this.capacity) throw new Error(`KV cache full (${this.capacity} positions)`);
    for (let r = 0; r < R; r++) {
      k.set(qkv.subarray(r * 3 * H + H, r * 3 * H + 2 * H), (at + r) * H);
      v.set(qkv.subarray(r * 3 * H + 2 * H, r * 3 * H + 3 * H), (at + r) * H);
    }
  }
}

/**
 * Attention of R new queries (positions past..past+R−1) over the cached keys/values 0..past+R−1, causal.
 * Same arithmetic as the full kernel (every key here is valid and not in the future, so no −10000 terms;
 * those would contribute exp(−10000 − max) = 0 exactly in float32).
 */
export function attendCached(
  out: Float32Array, qkv: Float32Array, keys: Float32Array, values: Float32Array,
  R: number, past: number, H: number, nHead: number,
): void {
  const d = H / nHead, scale = 1 / Math.sqrt(d);
  const p = new Float64Array(past + R);
  for (let r = 0; r < R; r++) {
    const T = past + r + 1;
    for (let h = 0; h < nHead; h++) {
      const q = r * 3 * H + h * d;
      let max = -Infinity;
      for (let u = 0; u < T; u++) {
        const k = u * H + h * d;
        let dot = 0;
        for (let i = 0; i < d; i++) dot += qkv[q + i] * keys[k + i];
        p[u] = dot * scale;
        if (p[u] > max) max = p[u];
      }
      let sum = 0;
      for (let u = 0; u < T; u++) sum += (p[u] = Math.exp(p[u] - max));
      const o = r * H + h * d;
      for (let i = 0; i < d; i++) out[o + i] = 0;
      for (let u = 0; u < T; u++) {
        const w = p[u] / sum, v = u * H + h * d;
        for (let i = 0; i < d; i++) out[o + i] += w * values[v + i];
      }
    }
  }
}
