/**
 * Sampling a token from next-token probabilities, in the order of docs/format.md §5: top-k (keep the k most probable;
 * 0 = off), then top-p (keep the smallest set of most probable tokens whose mass reaches p; 1 = off), then
 * temperature (divide the log-probabilities; 1 = off), renormalising after each step.
 */
import type { Rng } from '../util/rng.js';

export interface SamplingOptions {
  topK: number;
  topP: number;
  temperature: number;
}

export const SAMPLING_DEFAULTS: SamplingOptions = { topK: 0, topP: 1, temperature: 1 };

export function checkSampling(o: SamplingOptions): void {
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new Error(`top-k must be a whole number ≥ 0, not ${o.topK}`);
  if (!(o.topP > 0 && o.topP <= 1)) throw new Error(`top-p must be in (0, 1], not ${o.topP}`);
  if (!(o.temperature > 0) || !Number.isFinite(o.temperature)) throw new Error(`temperature must be a positive number, not ${o.temperature}`);
}

/** The filtered, renormalised distribution (float64) that `sample` draws from. */
export function filterProbs(probs: ArrayLike<number>, o: SamplingOptions): Float64Array {
  const V = probs.length;
  const p = Float64Array.from(probs);
  // indices by descending probability; ties keep the lower index first (a stable order)
  const order = [...p.keys()].sort((a, b) => p[b] - p[a] || a - b);
  if (o.topK > 0 && o.topK < V) for (const i of order.slice(o.topK)) p[i] = 0;
  normalise(p);
  if (o.topP < 1) {
    let mass = 0, keep = 0;
    while (keep < V && mass < o.topP) mass += p[order[keep++]];
    for (const i of order.slice(Math.max(1, keep))) p[i] = 0;
    normalise(p);
  }
  if (o.temperature !== 1) {
    let max = -Infinity;
    const logp = p.map((x) => (x > 0 ? Math.log(x) / o.temperature : -Infinity));
    for (const x of logp) if (x > max) max = x;
    for (let i = 0; i < V; i++) p[i] = Math.exp(logp[i] - max);
    normalise(p);
  }
  return p;
}

function normalise(p: Float64Array): void {
  let s = 0;
  for (const x of p) s += x;
  if (!(s > 0)) throw new Error('cannot sample from an all-zero distribution');
  for (let i = 0; i < p.length; i++) p[i] /= s;
}

/** Draws a token index. */
export function sample(probs: ArrayLike<number>, o: SamplingOptions, rng: Rng): number {
  const p = filterProbs(probs, o);
  let u = rng.next(), last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] <= 0) continue;
    last = i;
    if ((u -= p[i]) < 0) return i;
  }
  return last; // rounding left a sliver of mass: the last possible token
}
