/**
 * Any common image file (PNG, JPEG, BMP, GIF, TIFF; decoded by Jimp, pure JavaScript) → RGB, resized with an
 * area-averaging (box) filter → the paper's 24-bit BMP of size × size.
 */
import { encodeBmp, type RgbImage } from './bmp.js';

export interface RgbaImage {
  width: number;
  height: number;
  /** width·height·4 bytes, rows top-down. */
  rgba: Uint8Array;
}

async function jimp() {
  // loaded on first use: Jimp and its codecs take a while to import
  return (await import('jimp')).Jimp;
}

export async function decodeImageRgba(bytes: Uint8Array): Promise<RgbaImage> {
  const Jimp = await jimp();
  let img;
  try {
    img = await Jimp.read(Buffer.from(bytes));
  } catch (e) {
    throw new Error(`cannot decode image (${(e as Error).message || String(e)})`);
  }
  const { width, height, data } = img.bitmap;
  return { width, height, rgba: new Uint8Array(data.buffer, data.byteOffset, width * height * 4) };
}

/** Transparent pixels are composited over `background` (white by default). */
export function flatten(img: RgbaImage, background: [number, number, number] = [255, 255, 255]): RgbImage {
  const n = img.width * img.height, rgb = new Uint8Array(n * 3), s = img.rgba;
  for (let i = 0; i < n; i++) {
    const a = s[4 * i + 3] / 255;
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = Math.round(s[4 * i + c] * a + background[c] * (1 - a));
  }
  return { width: img.width, height: img.height, rgb };
}

export async function decodeImage(bytes: Uint8Array): Promise<RgbImage> {
  return flatten(await decodeImageRgba(bytes));
}

/** The pixels of `img` inside the rectangle (x, y, w, h). */
export function crop(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  const rgb = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) rgb.set(img.rgb.subarray(((y + r) * img.width + x) * 3, ((y + r) * img.width + x + w) * 3), r * w * 3);
  return { width: w, height: h, rgb };
}

/**
 * Area-averaging resize: each output pixel is the mean of the input area it covers, with partial pixels
 * weighted by their covered fraction (an exact box filter, so downscaling does not alias; upscaling
 * repeats pixels, blending at the seams).
 */
export function resizeArea(img: RgbImage, W: number, H: number): RgbImage {
  const { width: w, height: h, rgb } = img;
  const wx = coverage(w, W), wy = coverage(h, H);
  const out = new Uint8Array(W * H * 3), acc = new Float64Array(3);
  for (let Y = 0; Y < H; Y++) {
    for (let X = 0; X < W; X++) {
      acc.fill(0);
      let total = 0;
      for (const [y, fy] of wy[Y]) {
        for (const [x, fx] of wx[X]) {
          const f = fx * fy, s = (y * w + x) * 3;
          acc[0] += rgb[s] * f;
          acc[1] += rgb[s + 1] * f;
          acc[2] += rgb[s + 2] * f;
          total += f;
        }
      }
      const d = (Y * W + X) * 3;
      for (let c = 0; c < 3; c++) out[d + c] = Math.min(255, Math.round(acc[c] / total));
    }
  }
  return { width: W, height: H, rgb: out };
}

/** For each of the `m` output cells along an axis of `n` input pixels: the input pixels it covers, with weights. */
function coverage(n: number, m: number): [number, number][][] {
  const cells: [number, number][][] = [];
  for (let j = 0; j < m; j++) {
    const a = (j * n) / m, b = ((j + 1) * n) / m;
    const list: [number, number][] = [];
    for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
      const f = Math.min(b, i + 1) - Math.max(a, i);
      if (f > 1e-12) list.push([i, f]);
    }
    cells.push(list);
  }
  return cells;
}

/** How a non-square picture becomes a square: cut to the centre square, squeeze, or pad (black bars). */
export type Fit = 'crop' | 'stretch' | 'pad';

export function fitSquare(img: RgbImage, size: number, fit: Fit = 'crop'): RgbImage {
  const { width: w, height: h } = img;
  if (fit === 'stretch' || w === h) return resizeArea(img, size, size);
  if (fit === 'crop') {
    const s = Math.min(w, h);
    return resizeArea(crop(img, Math.floor((w - s) / 2), Math.floor((h - s) / 2), s, s), size, size);
  }
  // pad: the long side becomes `size`, the short side keeps the aspect ratio, centred on black
  const sw = Math.max(1, Math.round((w * size) / Math.max(w, h))), sh = Math.max(1, Math.round((h * size) / Math.max(w, h)));
  const small = resizeArea(img, sw, sh), out = new Uint8Array(size * size * 3);
  const ox = Math.floor((size - sw) / 2), oy = Math.floor((size - sh) / 2);
  for (let r = 0; r < sh; r++) out.set(small.rgb.subarray(r * sw * 3, (r + 1) * sw * 3), ((oy + r) * size + ox) * 3);
  return { width: size, height: size, rgb: out };
}

/** Any decodable image file → a 24-bit BMP of size × size (32 in the paper). */
export async function convertImage(bytes: Uint8Array, size = 32, fit: Fit = 'crop'): Promise<Uint8Array> {
  return encodeBmp(fitSquare(await decodeImage(bytes), size, fit));
}

/** An RGB image as a PNG file (for generated demo pictures that go through `convertImage`). */
export async function encodePng(img: RgbImage): Promise<Uint8Array> {
  const Jimp = await jimp();
  const n = img.width * img.height, data = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    data[4 * i] = img.rgb[3 * i];
    data[4 * i + 1] = img.rgb[3 * i + 1];
    data[4 * i + 2] = img.rgb[3 * i + 2];
    data[4 * i + 3] = 255;
  }
  const j = Jimp.fromBitmap({ width: img.width, height: img.height, data });
  return new Uint8Array(await j.getBuffer('image/png'));
}
