/** Images: decoding any format, the area-averaging resize, square fitting, and the 32×32 BMP result. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBmp, type RgbImage } from '../src/data/media/bmp.js';
import { convertImage, crop, decodeImage, decodeImageRgba, encodePng, fitSquare, flatten, resizeArea } from '../src/data/media/image.js';
import { drawPattern, drawShape, SHAPES } from '../src/data/media/synthetic-shapes.js';
import { Rng } from '../src/util/rng.js';

function solid(w: number, h: number, c: [number, number, number]): RgbImage {
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) rgb.set(c, 3 * i);
  return { width: w, height: h, rgb };
}

const px = (img: RgbImage, x: number, y: number) => [...img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

describe('area-averaging resize', () => {
  it('averages whole blocks exactly', () => {
    const img: RgbImage = { width: 4, height: 2, rgb: Uint8Array.from([0, 0, 0, 100, 100, 100, 10, 20, 30, 10, 20, 30, 200, 0, 0, 100, 0, 0, 50, 60, 70, 50, 60, 70]) };
    const r = resizeArea(img, 2, 1);
    assert.deepEqual([...r.rgb], [100, 25, 25, 30, 40, 50]);
  });

  it('weights partly covered pixels by the covered fraction', () => {
    // 3 pixels → 2: the middle pixel is split half and half
    const r = resizeArea({ width: 3, height: 1, rgb: Uint8Array.from([0, 0, 0, 90, 90, 90, 180, 180, 180]) }, 2, 1);
    assert.deepEqual([...r.rgb], [30, 30, 30, 150, 150, 150]);
  });

  it('keeps a flat colour flat at any scale, up or down', () => {
    for (const [w, h, W, H] of [[97, 61, 32, 32], [5, 7, 32, 32], [32, 32, 32, 32]]) {
      const r = resizeArea(solid(w, h, [12, 200, 77]), W, H);
      assert.ok(r.rgb.every((v, i) => v === [12, 200, 77][i % 3]), `${w}×${h} → ${W}×${H}`);
    }
  });
});

describe('fitting to a square', () => {
  const wide: RgbImage = { width: 6, height: 2, rgb: new Uint8Array(36) };
  for (let y = 0; y < 2; y++) for (let x = 0; x < 6; x++) wide.rgb.set(x < 2 ? [255, 0, 0] : x < 4 ? [0, 255, 0] : [0, 0, 255], (y * 6 + x) * 3);

  it('crop keeps the centre square', () => {
    const r = fitSquare(wide, 2, 'crop');
    assert.deepEqual(px(r, 0, 0), [0, 255, 0]);
    assert.deepEqual(px(r, 1, 1), [0, 255, 0]);
    assert.deepEqual(crop(wide, 4, 0, 2, 2).rgb.subarray(0, 3), Uint8Array.from([0, 0, 255]));
  });

  it('pad letterboxes on black; stretch squeezes', () => {
    const p = fitSquare(wide, 3, 'pad');
    assert.deepEqual([px(p, 0, 0), px(p, 0, 1), px(p, 1, 1), px(p, 2, 1), px(p, 1, 2)], [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 0, 0]]);
    const s = fitSquare(wide, 3, 'stretch');
    assert.deepEqual([px(s, 0, 2), px(s, 1, 0), px(s, 2, 0)], [[255, 0, 0], [0, 255, 0], [0, 0, 255]]);
  });
});

describe('image files → 32×32 BMP', () => {
  it('decodes a PNG, composites transparency over white, and writes a 3126-byte BMP', async () => {
    const png = await encodePng(solid(40, 30, [10, 120, 240]));
    const rgba = await decodeImageRgba(png);
    assert.deepEqual([rgba.width, rgba.height, ...rgba.rgba.subarray(0, 4)], [40, 30, 10, 120, 240, 255]);
    assert.deepEqual([...flatten({ width: 1, height: 1, rgba: Uint8Array.from([0, 0, 0, 0]) }).rgb], [255, 255, 255]);
    const bmp = await convertImage(png, 32);
    assert.equal(bmp.length, 3126);
    const back = decodeBmp(bmp);
    assert.deepEqual([back.width, back.height, ...px(back, 31, 31)], [32, 32, 10, 120, 240]);
  });

  it('reads BMP input (any size) and gives the same picture back at its own size', async () => {
    const rng = new Rng(5);
    const img = drawShape(rng, 'circle', 32);
    const { encodeBmp } = await import('../src/data/media/bmp.js');
    assert.deepEqual(decodeBmp(await convertImage(encodeBmp(img), 32)).rgb, img.rgb);
  });

  it('says when the bytes are not an image', async () => {
    await assert.rejects(decodeImage(new TextEncoder().encode('plain text')), /cannot decode image/);
  });
});

describe('demo shapes', () => {
  it('are deterministic in the seed and differ between classes', () => {
    const a = SHAPES.map((s) => drawShape(new Rng(1), s, 32).rgb);
    const b = SHAPES.map((s) => drawShape(new Rng(1), s, 32).rgb);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a[0], a[1]);
  });

  it('patterns can be grey (R = G = B) and stripes run the way their class says', () => {
    const g = drawPattern(new Rng(2), 'horizontal', 64, true);
    for (let i = 0; i < g.rgb.length; i += 3) assert.ok(g.rgb[i] === g.rgb[i + 1] && g.rgb[i] === g.rgb[i + 2]);
    // horizontal stripes: pixels change more down the picture than along it (and the other way for vertical)
    const spread = (img: RgbImage, across: boolean) => {
      let d = 0;
      for (let y = 0; y < 63; y++) for (let x = 0; x < 63; x++) d += Math.abs(img.rgb[(y * 64 + x) * 3] - img.rgb[((across ? y : y + 1) * 64 + (across ? x + 1 : x)) * 3]);
      return d;
    };
    assert.ok(spread(g, false) > 1.5 * spread(g, true));
    const v = drawPattern(new Rng(2), 'vertical', 64, true);
    assert.ok(spread(v, true) > 1.5 * spread(v, false));
  });
});
