/**
 * Generated files whose container header a model got slightly wrong (a size field off, a few bytes too many or
 * too few) still hold a picture or a sound: these rewrite the header to fit the bytes, so that ordinary
 * viewers and players open them. The pixel and sample bytes are kept as generated.
 */
import { repairBmp } from './bmp.js';
import { repairWav } from './wav.js';

/** Repairs a `.bmp` (default size 32×32 when its header is unusable) or `.wav`; null for other types. */
export function repairMedia(bytes: Uint8Array, ext: string, bmpSize = { width: 32, height: 32 }): { bytes: Uint8Array; changed: boolean } | null {
  switch (ext.toLowerCase()) {
    case 'bmp':
      return repairBmp(bytes, bmpSize);
    case 'wav':
      return repairWav(bytes);
    default:
      return null;
  }
}
