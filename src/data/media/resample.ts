/**
 * Sample-rate conversion with libsamplerate (Secret Rabbit Code, compiled to WebAssembly): a band-limited
 * windowed-sinc converter, so that downsampling low-passes below the new Nyquist frequency instead of
 * folding the high frequencies back into the audible band (a 6 kHz tone vanishes at 8 kHz, it does not turn
 * into a 2 kHz one).
 */
export type ResampleQuality = 'best' | 'medium' | 'fast';

// libsamplerate's converter ids: SRC_SINC_BEST_QUALITY 0, SRC_SINC_MEDIUM_QUALITY 1, SRC_SINC_FASTEST 2
const CONVERTER: Record<ResampleQuality, 0 | 1 | 2> = { best: 0, medium: 1, fast: 2 };

/** `x` (one channel) from `from` Hz to `to` Hz; the output has round(x.length · to / from) samples. */
export async function resample(x: Float32Array, from: number, to: number, quality: ResampleQuality = 'best'): Promise<Float32Array> {
  if (!(from > 0 && to > 0)) throw new Error(`cannot resample from ${from} Hz to ${to} Hz`);
  const want = Math.round((x.length * to) / from);
  if (from === to) return Float32Array.from(x);
  if (x.length === 0) return new Float32Array(0);
  // loaded on first use: the module carries a 2 MB WebAssembly image
  const mod = await import('@alexanderolsen/libsamplerate-js');
  // a CommonJS module: Node puts its exports on `default`, TypeScript loaders sometimes on the namespace
  const lsr = (mod as unknown as { create?: unknown }).create ? (mod as unknown as typeof mod.default) : mod.default;
  const src = await lsr.create(1, from, to, { converterType: CONVERTER[quality] });
  try {
    const y = src.simple(x);
    if (y.length === want) return y;
    const out = new Float32Array(want);
    out.set(y.subarray(0, want));
    return out;
  } finally {
    src.destroy();
  }
}
