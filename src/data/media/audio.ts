/**
 * Any common audio file (WAV, MP3, FLAC, Ogg Vorbis/Opus, QOA) → the paper's 8 kHz mono 8-bit WAV of a fixed
 * length: decode (audio-decode, WebAssembly decoders), mix to mono, cut to the wanted length, resample with
 * a band-limited filter, pad with silence, encode.
 */
import { resample, type ResampleQuality } from './resample.js';
import { encodeWav, readWavInfo } from './wav.js';

export interface DecodedAudio {
  sampleRate: number;
  /** One Float32Array per channel, samples in [-1, 1]. */
  channels: Float32Array[];
}

/**
 * WAV (integer PCM of 8, 16, 24 or 32 bits, float of 32 or 64, plain or WAVE_FORMAT_EXTENSIBLE) is read here,
 * integers with the symmetric scale (x / 2^(bits−1)) that `floatToU8` inverts, so that 8-bit input at the
 * target rate comes out byte for byte as it went in; other formats go to audio-decode.
 */
function decodePcmWav(b: Uint8Array): DecodedAudio | null {
  let info;
  try {
    info = readWavInfo(b);
  } catch {
    return null;
  }
  const { format, bits } = info;
  const int = format === 1 && [8, 16, 24, 32].includes(bits), float = format === 3 && (bits === 32 || bits === 64);
  if (!(int || float) || info.channels < 1 || !(info.sampleRate > 0)) return null;
  const bytes = bits / 8, block = info.channels * bytes, n = Math.floor(Math.min(info.dataBytes, b.length - info.dataOffset) / block);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const read = (at: number): number => {
    if (float) return bits === 32 ? v.getFloat32(at, true) : v.getFloat64(at, true);
    if (bits === 8) return (b[at] - 128) / 128;
    if (bits === 16) return v.getInt16(at, true) / 32768;
    if (bits === 24) return ((b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) << 8 >> 8) / 8388608;
    return v.getInt32(at, true) / 2147483648;
  };
  const channels = Array.from({ length: info.channels }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) for (let c = 0; c < info.channels; c++) channels[c][i] = read(info.dataOffset + i * block + c * bytes);
  return { sampleRate: info.sampleRate, channels };
}

export async function decodeAudio(bytes: Uint8Array): Promise<DecodedAudio> {
  const pcm = decodePcmWav(bytes);
  if (pcm) return pcm;
  const { default: audioDecode } = await import('audio-decode');
  // a private copy: the decoder reads the whole underlying ArrayBuffer, which for a Node Buffer can be shared
  let buf;
  try {
    buf = await audioDecode(new Uint8Array(bytes));
  } catch (e) {
    throw new Error(`cannot decode audio (${(e as Error).message || String(e)})`);
  }
  const channels: Float32Array[] = [];
  for (let c = 0; c < buf.numberOfChannels; c++) channels.push(Float32Array.from(buf.getChannelData(c)));
  if (!channels.length || !(buf.sampleRate > 0)) throw new Error('cannot decode audio (no channels)');
  return { sampleRate: buf.sampleRate, channels };
}

/** The mean of the channels. */
export function toMono(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const out = new Float32Array(channels[0].length);
  for (const ch of channels) for (let i = 0; i < out.length; i++) out[i] += ch[i] / channels.length;
  return out;
}

export interface AudioTarget {
  /** Output sample rate (8000 in the paper). */
  rate: number;
  /** Output length in seconds: longer input is cut, shorter is padded with silence (1 in the paper). */
  seconds: number;
  bits: 8 | 16;
  quality?: ResampleQuality;
}

export const PAPER_AUDIO: AudioTarget = { rate: 8000, seconds: 1, bits: 8 };

/** Mono samples at `rate` of exactly `seconds` (the first `seconds` of the input, then silence). */
export async function fitAudio(a: DecodedAudio, t: AudioTarget): Promise<Float32Array> {
  const n = Math.round(t.rate * t.seconds);
  const mono = toMono(a.channels);
  // cut before resampling (a little extra keeps the filter's view of the signal past the cut)
  const keep = Math.min(mono.length, Math.ceil((t.seconds + 0.05) * a.sampleRate));
  const y = await resample(mono.subarray(0, keep), a.sampleRate, t.rate, t.quality);
  const out = new Float32Array(n);
  out.set(y.subarray(0, n));
  return out;
}

/** Any decodable audio file → a mono PCM WAV (8 kHz, 1 s, 8-bit unsigned by default). */
export async function convertAudio(bytes: Uint8Array, t: AudioTarget = PAPER_AUDIO): Promise<Uint8Array> {
  const samples = await fitAudio(await decodeAudio(bytes), t);
  return encodeWav(samples, { sampleRate: t.rate, channels: 1, bits: t.bits });
}
