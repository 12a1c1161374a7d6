/** BMP and WAV files: headers byte-exact, sizes, pixel/sample layout, and repair of generated files. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bmpSize, bmpStride, decodeBmp, encodeBmp, readBmpHeader, repairBmp } from '../src/data/media/bmp.js';
import { decodeImage } from '../src/data/media/image.js';
import { repairMedia } from '../src/data/media/repair.js';
import { encodeWav, floatToU8, readWavInfo, repairWav, wavHeader } from '../src/data/media/wav.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function gradient(w: number, h: number): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb.set([(x * 7) & 255, (y * 11) & 255, (x + y) & 255], (y * w + x) * 3);
  return rgb;
}

describe('BMP', () => {
  it('32×32 is 54 + 3072 bytes with the header Pillow writes', () => {
    const b = encodeBmp({ width: 32, height: 32, rgb: gradient(32, 32) });
    assert.equal(b.length, 3126);
    assert.equal(bmpSize(32, 32), 3126);
    // BM, file size 3126, reserved, offset 54 | info 40, 32, 32, planes 1, 24 bpp, BI_RGB, 3072 bytes, 3780 ppm ×2, 0, 0
    assert.equal(hex(b.subarray(0, 54)), '424d360c000000000000360000002800000020000000200000000100180000000000000c0000c40e0000c40e00000000000000000000');
  });

  it('stores rows bottom-up as B,G,R and pads each row to 4 bytes', () => {
    const w = 5, h = 3, rgb = gradient(w, h);
    const b = encodeBmp({ width: w, height: h, rgb });
    assert.equal(bmpStride(5), 16);
    assert.equal(b.length, 54 + 16 * 3);
    const hd = readBmpHeader(b);
    assert.deepEqual([hd.fileSize, hd.offset, hd.width, hd.height, hd.topDown, hd.bits, hd.imageSize], [b.length, 54, 5, 3, false, 24, 48]);
    // the first stored row is the bottom row of the picture (y = 2); its first pixel is (0, 2)
    const p = (x: number, y: number) => [...rgb.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)];
    assert.deepEqual([...b.subarray(54, 57)], p(0, 2).reverse());
    assert.deepEqual([...b.subarray(54 + 16, 57 + 16)], p(0, 1).reverse());
    assert.deepEqual([...b.subarray(54 + 15, 54 + 16)], [0], 'padding byte is zero');
    assert.deepEqual(decodeBmp(b).rgb, rgb);
  });

  it('is read back the same by an independent decoder (Jimp)', async () => {
    for (const [w, h] of [[32, 32], [5, 3], [7, 2]]) {
      const rgb = gradient(w, h);
      const img = await decodeImage(encodeBmp({ width: w, height: h, rgb }));
      assert.equal(img.width, w);
      assert.equal(img.height, h);
      assert.deepEqual(img.rgb, rgb, `${w}×${h}`);
    }
  });

  it('rejects wrong pixel counts with a clear error', () => {
    assert.throws(() => encodeBmp({ width: 2, height: 2, rgb: new Uint8Array(5) }), /needs 12 RGB bytes, got 5/);
    assert.throws(() => decodeBmp(new Uint8Array(60)), /not a BMP/);
  });

  it('repairs generated files whose sizes are off, keeping the pixel bytes', () => {
    const good = encodeBmp({ width: 32, height: 32, rgb: gradient(32, 32) });
    assert.equal(repairBmp(good)!.changed, false);
    const bad = Uint8Array.from(good.subarray(0, 3000)); // cut short
    new DataView(bad.buffer).setUint32(2, 999, true); // wrong file size
    const r = repairBmp(bad)!;
    assert.equal(r.changed, true);
    assert.equal(r.bytes.length, 3126);
    assert.equal(hex(r.bytes.subarray(0, 54)), hex(good.subarray(0, 54)));
    assert.deepEqual(r.bytes.subarray(54, 3000), good.subarray(54, 3000));
    assert.ok(r.bytes.subarray(3000).every((x) => x === 0));
    // a header that is not a BMP at all: the expected size is used
    const junk = repairMedia(new Uint8Array(100).fill(7), 'bmp')!;
    assert.equal(junk.bytes.length, 3126);
    assert.equal(repairMedia(new Uint8Array(10), 'txt'), null);
  });
});

describe('WAV', () => {
  it('one second of 8 kHz 8-bit mono is 44 + 8000 bytes with the canonical header', () => {
    const b = encodeWav(new Float32Array(8000), { sampleRate: 8000, channels: 1, bits: 8 });
    assert.equal(b.length, 8044);
    // RIFF 8036 WAVE | fmt 16: PCM, 1 channel, 8000 Hz, 8000 B/s, align 1, 8 bits | data 8000
    assert.equal(hex(b.subarray(0, 44)), '52494646641f000057415645666d74201000000001000100401f0000401f000001000800646174614' + '01f0000');
    assert.ok(b.subarray(44).every((x) => x === 128), '8-bit PCM is unsigned: silence is 128');
    const info = readWavInfo(b);
    assert.deepEqual([info.format, info.channels, info.sampleRate, info.bits, info.dataOffset, info.dataBytes, info.riffSize], [1, 1, 8000, 8, 44, 8000, 8036]);
  });

  it('maps floats to unsigned bytes, clamped', () => {
    assert.deepEqual([...floatToU8(Float32Array.from([0, -1, 1, 0.5, -0.5, 2, -2]))], [128, 0, 255, 192, 64, 255, 0]);
  });

  it('pads an odd data chunk and writes 16-bit samples signed little-endian', () => {
    const b = encodeWav(Float32Array.from([0, 0.5, -1]), { sampleRate: 8000, channels: 1, bits: 8 });
    assert.equal(b.length, 44 + 3 + 1);
    assert.equal(readWavInfo(b).dataBytes, 3);
    assert.equal(readWavInfo(b).riffSize, 36 + 4);
    const s = encodeWav(Float32Array.from([0.5, -0.5, -1, 1]), { sampleRate: 16000, channels: 2, bits: 16 });
    assert.equal(s.length, 44 + 8);
    assert.equal(hex(s.subarray(44)), '004000c00080ff7f');
    assert.equal(hex(wavHeader({ sampleRate: 16000, channels: 2, bits: 16 }, 8).subarray(20, 36)), '01000200803e000000fa000004001000');
  });

  it('repairs generated files: sizes rewritten for the bytes there are', () => {
    const good = encodeWav(new Float32Array(100).map((_, i) => Math.sin(i)), { sampleRate: 8000, channels: 1, bits: 8 });
    assert.equal(repairWav(good).changed, false);
    const bad = Uint8Array.from(good.subarray(0, 120));
    new DataView(bad.buffer).setUint32(40, 12345, true);
    const r = repairWav(bad);
    assert.equal(r.changed, true);
    assert.equal(readWavInfo(r.bytes).dataBytes, 76);
    assert.equal(r.bytes.length, 120);
    assert.deepEqual(r.bytes.subarray(44), good.subarray(44, 120));
    // an unusable format falls back to 8 kHz mono 8-bit
    const junk = repairWav(new Uint8Array(64).fill(200));
    assert.deepEqual([readWavInfo(junk.bytes).sampleRate, readWavInfo(junk.bytes).bits, readWavInfo(junk.bytes).dataBytes], [8000, 8, 20]);
  });
});
