/**
 * Element types of stored tensors (safetensors names; torch storages map onto them) and the conversions to
 * and from float32. Everything is little-endian, as safetensors and torch's zip format store it.
 */
export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Record<DType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/** Floating types a model parameter can be read from. */
export function isFloatDType(d: DType): boolean {
  return d === 'F32' || d === 'F16' || d === 'BF16' || d === 'F64';
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** float32 → IEEE half, rounding to nearest even (as torch's `.half()`). */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000, exp = (x >>> 23) & 0xff, mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const full = mant | 0x800000, shift = 14 - e;
    let h = full >>> shift;
    const rem = full & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** float32 → bfloat16, rounding to nearest even (as torch's `.bfloat16()`). */
export function floatToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) & 0x8000) | 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Element `i` of little-endian `bytes` of type `dtype`, as a number (integers beyond 2^53 lose precision,
 * which only matters for buffers we never use as parameters).
 */
function elementReader(dtype: DType, dv: DataView): (i: number) => number {
  switch (dtype) {
    case 'F32': return (i) => dv.getFloat32(i * 4, true);
    case 'F64': return (i) => dv.getFloat64(i * 8, true);
    case 'F16': return (i) => halfToFloat(dv.getUint16(i * 2, true));
    case 'BF16': return (i) => { u32[0] = dv.getUint16(i * 2, true) << 16; return f32[0]; };
    case 'I64': return (i) => Number(dv.getBigInt64(i * 8, true));
    case 'I32': return (i) => dv.getInt32(i * 4, true);
    case 'I16': return (i) => dv.getInt16(i * 2, true);
    case 'I8': return (i) => dv.getInt8(i);
    case 'U8': case 'BOOL': return (i) => dv.getUint8(i);
  }
}

let halfTable: Float32Array | undefined;

/**
 * Converts elements of `bytes` to float32 into `out`. With `index` (element positions inside `bytes`, for
 * strided views) element k of `out` is element index[k] of `bytes`; otherwise they are taken in order.
 */
export function convertToFloat32(bytes: Uint8Array, dtype: DType, out: Float32Array, index?: ArrayLike<number>): Float32Array {
  const n = out.length, es = DTYPE_BYTES[dtype];
  if (!index && bytes.length < n * es) throw new Error(`${bytes.length} bytes hold fewer than ${n} ${dtype} values`);
  if (!index && dtype === 'F32' && bytes.byteOffset % 4 === 0) {
    out.set(new Float32Array(bytes.buffer, bytes.byteOffset, n)); // little-endian hosts (all Node targets)
    return out;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!index && dtype === 'BF16') {
    const u = new Uint32Array(out.buffer, out.byteOffset, n);
    for (let i = 0; i < n; i++) u[i] = dv.getUint16(i * 2, true) << 16;
    return out;
  }
  if (!index && dtype === 'F16') {
    const t = (halfTable ??= Float32Array.from({ length: 0x10000 }, (_, h) => halfToFloat(h))); // 16-bit models load in one pass
    for (let i = 0; i < n; i++) out[i] = t[dv.getUint16(i * 2, true)];
    return out;
  }
  const get = elementReader(dtype, dv);
  if (index) for (let k = 0; k < n; k++) out[k] = get(index[k]);
  else for (let k = 0; k < n; k++) out[k] = get(k);
  return out;
}

/** float32 values as little-endian bytes of `dtype` (F32, F16 or BF16). */
export function encodeFloat32(data: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint16Array(data.length), conv = dtype === 'F16' ? floatToHalf : floatToBf16;
  for (let i = 0; i < data.length; i++) out[i] = conv(data[i]);
  return new Uint8Array(out.buffer);
}
