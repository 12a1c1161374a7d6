/**
 * PCM WAV files with the canonical 44-byte header (RIFF, a 16-byte "fmt " chunk, "data"), the audio format of
 * the paper's Speech Commands experiment: 8 kHz mono 8-bit. 8-bit PCM is unsigned (128 is silence); 16-bit
 * is signed little-endian. One second at 8 kHz, 8 bits → 44 + 8000 bytes.
 */

export const WAV_HEADER = 44;

export interface PcmFormat {
  sampleRate: number;
  channels: number;
  bits: 8 | 16;
}

/** Floats in [-1, 1] → 8-bit unsigned PCM (clamped; 0 → 128). */
export function floatToU8(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(x[i] * 128) + 128));
  return out;
}

/** 8-bit unsigned PCM → floats in [-1, 1). */
export function u8ToFloat(b: Uint8Array): Float32Array {
  const out = new Float32Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = (b[i] - 128) / 128;
  return out;
}

/** The 44-byte header for `dataBytes` bytes of PCM samples. */
export function wavHeader(f: PcmFormat, dataBytes: number): Uint8Array {
  const out = new Uint8Array(WAV_HEADER);
  const v = new DataView(out.buffer);
  const ascii = (off: number, s: string) => {
    for (let i = 0; i < 4; i++) out[off + i] = s.charCodeAt(i);
  };
  const block = f.channels * (f.bits / 8);
  ascii(0, 'RIFF');
  // the RIFF size counts everything after these 8 bytes, including the pad byte of an odd data chunk
  v.setUint32(4, 36 + dataBytes + (dataBytes & 1), true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, f.channels, true);
  v.setUint32(24, f.sampleRate, true);
  v.setUint32(28, f.sampleRate * block, true); // bytes per second
  v.setUint16(32, block, true);
  v.setUint16(34, f.bits, true);
  ascii(36, 'data');
  v.setUint32(40, dataBytes, true);
  return out;
}

/**
 * A WAV file from interleaved float samples in [-1, 1] (8-bit unsigned or 16-bit signed PCM). An odd-sized
 * data chunk gets the pad byte RIFF requires.
 */
export function encodeWav(samples: Float32Array, f: PcmFormat): Uint8Array {
  if (!(f.sampleRate >= 1 && Number.isInteger(f.sampleRate))) throw new Error(`sample rate ${f.sampleRate} is not valid`);
  if (samples.length % f.channels) throw new Error(`${samples.length} samples do not divide into ${f.channels} channels`);
  const dataBytes = samples.length * (f.bits / 8);
  const out = new Uint8Array(WAV_HEADER + dataBytes + (dataBytes & 1));
  out.set(wavHeader(f, dataBytes));
  if (f.bits === 8) out.set(floatToU8(samples), WAV_HEADER);
  else {
    const v = new DataView(out.buffer);
    for (let i = 0; i < samples.length; i++) v.setInt16(WAV_HEADER + 2 * i, Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768))), true);
  }
  return out;
}

export interface WavInfo {
  /** 1 integer PCM, 3 IEEE float (the sub-format of a WAVE_FORMAT_EXTENSIBLE file). */
  format: number;
  sampleRate: number;
  channels: number;
  bits: number;
  /** Where the samples start and how many bytes the data chunk says it holds. */
  dataOffset: number;
  dataBytes: number;
  riffSize: number;
}

/** Walks the chunks of a RIFF/WAVE file; throws when it has no "fmt " and "data" chunk. */
export function readWavInfo(b: Uint8Array): WavInfo {
  const tag = (off: number) => String.fromCharCode(b[off], b[off + 1], b[off + 2], b[off + 3]);
  if (b.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a WAV file (no RIFF/WAVE header)');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | null = null;
  for (let off = 12; off + 8 <= b.length;) {
    const id = tag(off), size = v.getUint32(off + 4, true);
    if (id === 'fmt ') {
      if (off + 24 > b.length) break;
      let format = v.getUint16(off + 8, true);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID
      if (format === 0xfffe && size >= 40 && off + 34 <= b.length) format = v.getUint16(off + 32, true);
      fmt = { format, channels: v.getUint16(off + 10, true), sampleRate: v.getUint32(off + 12, true), bits: v.getUint16(off + 22, true) };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV "data" chunk before its "fmt " chunk');
      return { ...fmt, dataOffset: off + 8, dataBytes: size, riffSize: v.getUint32(4, true) };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error(fmt ? 'WAV file without a "data" chunk' : 'WAV file without a "fmt " chunk');
}

/**
 * Makes a generated (possibly imperfect) WAV play in ordinary players: everything after the first 44 bytes is
 * taken as the samples and the header is rewritten for them, keeping the file's format where it is a sane PCM
 * one and using `expect` (default 8 kHz mono 8-bit) where it is not.
 */
export function repairWav(b: Uint8Array, expect: PcmFormat = { sampleRate: 8000, channels: 1, bits: 8 }): { bytes: Uint8Array; changed: boolean } {
  let f = expect;
  if (b.length >= WAV_HEADER) {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const channels = v.getUint16(22, true), sampleRate = v.getUint32(24, true), bits = v.getUint16(34, true);
    if ((bits === 8 || bits === 16) && channels >= 1 && channels <= 8 && sampleRate >= 1000 && sampleRate <= 192000) f = { channels, sampleRate, bits };
  }
  const block = f.channels * (f.bits / 8);
  const raw = b.subarray(Math.min(WAV_HEADER, b.length));
  const dataBytes = raw.length - (raw.length % block);
  const out = new Uint8Array(WAV_HEADER + dataBytes + (dataBytes & 1));
  out.set(wavHeader(f, dataBytes));
  out.set(raw.subarray(0, dataBytes), WAV_HEADER);
  if (dataBytes & 1) out[out.length - 1] = 0;
  const changed = out.length !== b.length || out.some((x, i) => x !== b[i]);
  return { bytes: out, changed };
}
