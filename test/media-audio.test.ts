/** Audio: resampling keeps frequencies below the new Nyquist and removes those above; conversion to 8 kHz. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import audioDecode from 'audio-decode';
import { convertAudio, fitAudio } from '../src/data/media/audio.js';
import { resample } from '../src/data/media/resample.js';
import { encodeWav, readWavInfo, u8ToFloat } from '../src/data/media/wav.js';

function sine(f: number, sr: number, seconds: number, amp = 0.5): Float32Array {
  const x = new Float32Array(Math.round(sr * seconds));
  for (let i = 0; i < x.length; i++) x[i] = amp * Math.sin((2 * Math.PI * f * i) / sr);
  return x;
}

/** Frequency from the rising zero crossings (interpolated) of a clean tone. */
function zeroCrossingHz(x: Float32Array, sr: number): number {
  const ups: number[] = [];
  for (let i = 1; i < x.length; i++) if (x[i - 1] < 0 && x[i] >= 0) ups.push(i - 1 + -x[i - 1] / (x[i] - x[i - 1]));
  return ((ups.length - 1) * sr) / (ups[ups.length - 1] - ups[0]);
}

/** Amplitude of frequency f (a single DFT bin, Hann-windowed). */
function amplitudeAt(x: Float32Array, f: number, sr: number): number {
  let re = 0, im = 0, wsum = 0;
  for (let i = 0; i < x.length; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (x.length - 1));
    re += w * x[i] * Math.cos((2 * Math.PI * f * i) / sr);
    im += w * x[i] * Math.sin((2 * Math.PI * f * i) / sr);
    wsum += w;
  }
  return (2 * Math.hypot(re, im)) / wsum;
}

const rms = (x: Float32Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);

describe('resampling', () => {
  it('44.1 kHz → 8 kHz keeps a 440 Hz sine at 440 Hz and its amplitude', async () => {
    const y = await resample(sine(440, 44100, 1), 44100, 8000);
    assert.equal(y.length, 8000);
    const mid = y.subarray(400, 7600);
    assert.ok(Math.abs(zeroCrossingHz(mid, 8000) - 440) < 0.05, `zero crossings say ${zeroCrossingHz(mid, 8000)} Hz`);
    assert.ok(Math.abs(amplitudeAt(mid, 440, 8000) - 0.5) < 0.005, `amplitude ${amplitudeAt(mid, 440, 8000)}`);
  });

  it('removes a 6 kHz tone (above the 4 kHz Nyquist) instead of folding it to 2 kHz', async () => {
    const y = await resample(sine(6000, 44100, 1), 44100, 8000);
    const mid = y.subarray(400, 7600);
    assert.ok(rms(mid) < 0.005, `rms ${rms(mid)} of a 0.35-rms input`);
    assert.ok(amplitudeAt(mid, 2000, 8000) < 0.003, 'no alias at 8000 − 6000 Hz');
    // a naive decimation (every 5.5125th sample) would keep it at full strength as an alias
    const naive = new Float32Array(8000).map((_, i) => Math.sin((2 * Math.PI * 6000 * Math.floor((i * 44100) / 8000)) / 44100) * 0.5);
    assert.ok(amplitudeAt(naive, 2000, 8000) > 0.3);
  });

  it('keeps a mixture apart: 440 Hz stays, 6 kHz goes', async () => {
    const a = sine(440, 48000, 1), b = sine(6000, 48000, 1);
    const y = await resample(a.map((v, i) => v + b[i]), 48000, 8000);
    const mid = y.subarray(400, 7600);
    assert.ok(Math.abs(amplitudeAt(mid, 440, 8000) - 0.5) < 0.005);
    assert.ok(amplitudeAt(mid, 2000, 8000) < 0.003);
  });
});

describe('audio conversion (the paper: 8 kHz mono 8-bit, one second)', () => {
  it('a 2 s stereo 16-bit 44.1 kHz WAV becomes 8044 bytes of 8 kHz 8-bit 440 Hz', async () => {
    const l = sine(440, 44100, 2), st = new Float32Array(l.length * 2);
    for (let i = 0; i < l.length; i++) st[2 * i] = st[2 * i + 1] = l[i];
    const out = await convertAudio(encodeWav(st, { sampleRate: 44100, channels: 2, bits: 16 }));
    assert.equal(out.length, 8044);
    const info = readWavInfo(out);
    assert.deepEqual([info.sampleRate, info.channels, info.bits, info.dataBytes], [8000, 1, 8, 8000]);
    const x = u8ToFloat(out.subarray(44));
    assert.ok(Math.abs(zeroCrossingHz(x.subarray(100, 7900), 8000) - 440) < 0.1);
    // the decoder of an ordinary player (audio-decode) reads it back as 8 kHz mono
    const back = await audioDecode(new Uint8Array(out));
    assert.deepEqual([back.sampleRate, back.numberOfChannels, back.length], [8000, 1, 8000]);
  });

  it('pads short input with silence (128) and mixes channels to mono', async () => {
    const l = sine(300, 16000, 0.25), r = new Float32Array(l.length), st = new Float32Array(l.length * 2);
    for (let i = 0; i < l.length; i++) [st[2 * i], st[2 * i + 1]] = [l[i], r[i]];
    const out = await convertAudio(encodeWav(st, { sampleRate: 16000, channels: 2, bits: 16 }));
    assert.equal(out.length, 8044);
    assert.ok(out.subarray(44 + 2100).every((v) => v === 128), 'silence after the quarter second');
    const x = u8ToFloat(out.subarray(44 + 100, 44 + 1900));
    assert.ok(Math.abs(amplitudeAt(x, 300, 8000) - 0.25) < 0.01, 'the mean of a 0.5 and a silent channel');
  });

  it('leaves 8 kHz 8-bit input as it is (no resampling at the same rate)', async () => {
    const inp = encodeWav(sine(1000, 8000, 1, 0.7), { sampleRate: 8000, channels: 1, bits: 8 });
    assert.deepEqual(await convertAudio(inp), inp);
  });

  it('other lengths and rates on request', async () => {
    const a = await fitAudio({ sampleRate: 22050, channels: [sine(440, 22050, 3)] }, { rate: 16000, seconds: 2, bits: 16 });
    assert.equal(a.length, 32000);
  });

  it('says when the bytes are not audio', async () => {
    await assert.rejects(convertAudio(new TextEncoder().encode('hello, not a sound')), /cannot decode audio/);
  });
});
