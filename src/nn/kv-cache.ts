/**
 * Key/value cache of a GPT-2 stack for decoding: per block, the keys and values of every position seen so far,
 * for several sequences at once (slots), so that extending a sequence by one position costs one row of work
 * instead of recomputing its prefix. Slot s holds positions 0..length[s]−1 of one sequence.
 */
import { PLAIN, type Allocator } from '../util/aligned.js';

export class KVCache {
  /** Per block: [slots, capacity, H]. */
  readonly keys: Float32Array[] = [];
  readonly values: Float32Array[] = [];
  /** Positions cached in each slot. */
  readonly length: Int32Array;

  constructor(layers: number, readonly slots: number, readonly capacity: number, readonly H: number, alloc: Allocator = PLAIN) {
    for (let i = 0; i < layers; i++) {
      this.keys.push(alloc.f32(slots * capacity * H));
      this.values.push(alloc.f32(slots * capacity * H));
    }
    this.length = new Int32Array(slots);
  }

  /** Forgets what slot s holds (all slots when s is omitted). */
  reset(s?: number): void {
    if (s === undefined) this.length.fill(0);
    else this.length[s] = 0;
  }
}

/**
 * A forward over a cache: row block b of the batch continues the sequence in slot slots[b] (distinct slots),
 * whose cached length is its past. The stack reads `past` before its first block and advances the lengths
 * after its last.
 */
export interface CacheStep {
  cache: KVCache;
  slots: Int32Array;
}
