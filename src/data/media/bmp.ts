/**
 * 24-bit uncompressed BMP (BITMAPINFOHEADER), the image format of the paper's CIFAR-10 experiment.
 * The header is byte-for-byte what Pillow writes for an RGB image (96 dpi), so files made here and files
 * made by the reference's Python tools look the same to a byte model: 14 + 40 header bytes, then rows of
 * B,G,R bottom-up, each row padded to a multiple of 4 bytes. 32×32 → 54 + 3072 = 3126 bytes.
 */

export const BMP_HEADER = 54;
/** 96 dpi in pixels per metre, as Pillow rounds it. */
const PPM = 3780;

/** An RGB image: `rgb` holds width·height·3 bytes, rows top-down, R,G,B per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** Bytes per pixel row in the file: 3·width rounded up to 4. */
export function bmpStride(width: number): number {
  // arithmetic, not `& ~3`: a width read from a broken header can be large enough to overflow 32-bit integers
  return Math.ceil((width * 3) / 4) * 4;
}

export function bmpSize(width: number, height: number): number {
  return BMP_HEADER + bmpStride(width) * height;
}

export function encodeBmp(img: RgbImage): Uint8Array {
  const { width: w, height: h, rgb } = img;
  if (!(w >= 1 && h >= 1 && Number.isInteger(w) && Number.isInteger(h))) throw new Error(`image size ${w}×${h} is not valid`);
  if (rgb.length !== w * h * 3) throw new Error(`image of ${w}×${h} needs ${w * h * 3} RGB bytes, got ${rgb.length}`);
  const stride = bmpStride(w), image = stride * h;
  const out = new Uint8Array(BMP_HEADER + image);
  const v = new DataView(out.buffer);
  out[0] = 0x42; // 'B'
  out[1] = 0x4d; // 'M'
  v.setUint32(2, out.length, true); // file size
  v.setUint32(6, 0, true); // reserved
  v.setUint32(10, BMP_HEADER, true); // offset of the pixels
  v.setUint32(14, 40, true); // BITMAPINFOHEADER
  v.setInt32(18, w, true);
  v.setInt32(22, h, true); // positive: rows bottom-up
  v.setUint16(26, 1, true); // planes
  v.setUint16(28, 24, true); // bits per pixel
  v.setUint32(30, 0, true); // BI_RGB, uncompressed
  v.setUint32(34, image, true);
  v.setInt32(38, PPM, true);
  v.setInt32(42, PPM, true);
  v.setUint32(46, 0, true); // colours used
  v.setUint32(50, 0, true); // important colours
  for (let y = 0; y < h; y++) {
    const row = BMP_HEADER + (h - 1 - y) * stride;
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3, d = row + x * 3;
      out[d] = rgb[s + 2];
      out[d + 1] = rgb[s + 1];
      out[d + 2] = rgb[s];
    }
  }
  return out;
}

export interface BmpHeader {
  fileSize: number;
  offset: number;
  width: number;
  /** Negative height in the file means rows top-down; `height` is its absolute value. */
  height: number;
  topDown: boolean;
  bits: number;
  compression: number;
  imageSize: number;
}

/** The header fields of a BMP with a BITMAPINFOHEADER (or later) info header; throws when it is not one. */
export function readBmpHeader(b: Uint8Array): BmpHeader {
  if (b.length < BMP_HEADER || b[0] !== 0x42 || b[1] !== 0x4d) throw new Error('not a BMP file (no "BM" header)');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const infoSize = v.getUint32(14, true);
  if (infoSize < 40) throw new Error(`unsupported BMP info header of ${infoSize} bytes`);
  const h = v.getInt32(22, true);
  return {
    fileSize: v.getUint32(2, true), offset: v.getUint32(10, true), width: v.getInt32(18, true), height: Math.abs(h), topDown: h < 0,
    bits: v.getUint16(28, true), compression: v.getUint32(30, true), imageSize: v.getUint32(34, true),
  };
}

/** Decodes an uncompressed 24-bit BMP (the format written here); other BMPs go through `decodeImage`. */
export function decodeBmp(b: Uint8Array): RgbImage {
  const hd = readBmpHeader(b);
  if (hd.bits !== 24 || hd.compression !== 0) throw new Error(`a ${hd.bits}-bit BMP with compression ${hd.compression}; only uncompressed 24-bit is read here`);
  const { width: w, height: h } = hd, stride = bmpStride(w);
  if (w < 1 || h < 1) throw new Error(`BMP of ${w}×${h} pixels: not a valid image size`);
  if (hd.offset + stride * h > b.length) throw new Error(`BMP of ${w}×${h} needs ${hd.offset + stride * h} bytes, the file has ${b.length}`);
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const row = hd.offset + (hd.topDown ? y : h - 1 - y) * stride;
    for (let x = 0; x < w; x++) {
      const d = (y * w + x) * 3, s = row + x * 3;
      rgb[d] = b[s + 2];
      rgb[d + 1] = b[s + 1];
      rgb[d + 2] = b[s];
    }
  }
  return { width: w, height: h, rgb };
}

/**
 * Makes a generated (possibly imperfect) 24-bit BMP open in ordinary viewers: a header with a plausible size
 * is rewritten to be consistent (sizes, offset, planes, compression), the pixels are cut or padded (black)
 * to width × height. `expect` gives the size to use when the header's own is missing, absurd or far larger
 * than the file.
 * Returns null when the bytes are not recognisably a BMP and no size is given.
 */
export function repairBmp(b: Uint8Array, expect?: { width: number; height: number }): { bytes: Uint8Array; changed: boolean } | null {
  let w = 0, h = 0, topDown = false;
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d) {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    w = v.getInt32(18, true);
    h = Math.abs(v.getInt32(22, true));
    topDown = v.getInt32(22, true) < 0;
  }
  // a size the file could plausibly be cut from: padding a few bytes out to a 4096×4096 image (50 MB) because
  // the header says so would let a tiny file allocate that much
  const sane = w >= 1 && h >= 1 && w <= 4096 && h <= 4096 && bmpStride(w) * h <= 2 * b.length + 65536;
  if (!sane) {
    if (!expect) return null;
    ({ width: w, height: h } = expect);
  }
  const stride = bmpStride(w), image = stride * h;
  const pixels = new Uint8Array(image);
  pixels.set(b.subarray(BMP_HEADER, BMP_HEADER + image));
  // reuse the encoder for the header: a blank image of that size, then the pixel bytes as they are
  const out = encodeBmp({ width: w, height: h, rgb: new Uint8Array(w * h * 3) });
  out.set(pixels, BMP_HEADER);
  if (topDown && sane) new DataView(out.buffer).setInt32(22, -h, true);
  const changed = out.length !== b.length || out.some((x, i) => x !== b[i]);
  return { bytes: out, changed };
}
