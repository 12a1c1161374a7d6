/** The bGPT model configuration (docs/format.md §2) and its validation. */
export interface BgptConfig {
  /** S: tokens per patch. */
  patchSize: number;
  /** L: patches per sequence (rows of the patch-level `wpe`). */
  patchLength: number;
  /** H: hidden size of both decoders. */
  hidden: number;
  patchLayers: number;
  byteLayers: number;
  /** Attention heads; H/64 (at least 1) in bGPT. */
  heads: number;
}

/** Vocabulary: 256 byte values and the end-of-patch / padding token. */
export const VOCAB = 257;
export const EOP = 256;

export const DEFAULT_CONFIG: BgptConfig = {
  patchSize: 16, patchLength: 512, hidden: 768, patchLayers: 12, byteLayers: 3, heads: 12,
};

export function defaultHeads(hidden: number): number {
  return Math.max(1, Math.floor(hidden / 64));
}

/** Throws a one-line message for a configuration that cannot be built. */
export function validateConfig(c: BgptConfig): void {
  const ints: (keyof BgptConfig)[] = ['patchSize', 'patchLength', 'hidden', 'patchLayers', 'byteLayers', 'heads'];
  for (const k of ints) {
    if (!Number.isInteger(c[k]) || c[k] < (k.endsWith('Layers') ? 0 : 1)) throw new Error(`invalid ${k}: ${c[k]}`);
  }
  if (c.hidden % c.heads !== 0) throw new Error(`hidden size ${c.hidden} is not a multiple of heads ${c.heads}`);
}
