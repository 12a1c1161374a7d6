/**
 * Drawn shapes for the image-classification demo (a stand-in for CIFAR-10, which cannot be downloaded here):
 * a circle, square, triangle or cross of random colour, size, position and rotation on a random contrasting
 * background with a little noise, antialiased by 4×4 supersampling.
 */
import type { RgbImage } from './bmp.js';
import type { Rng } from '../../util/rng.js';

export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;
export type Shape = (typeof SHAPES)[number];

type Inside = (x: number, y: number) => boolean;

function insideTest(shape: Shape, r: number): Inside {
  switch (shape) {
    case 'circle':
      return (x, y) => x * x + y * y < r * r;
    case 'square': {
      const h = r * 0.8;
      return (x, y) => Math.abs(x) < h && Math.abs(y) < h;
    }
    case 'cross': {
      const w = r * 0.3;
      return (x, y) => (Math.abs(x) < r && Math.abs(y) < w) || (Math.abs(x) < w && Math.abs(y) < r);
    }
    case 'triangle': {
      // equilateral, circumradius r, one vertex up: inside all three edges' half-planes
      const v = [0, 1, 2].map((k) => [r * Math.sin((2 * Math.PI * k) / 3), -r * Math.cos((2 * Math.PI * k) / 3)]);
      return (x, y) => {
        for (let k = 0; k < 3; k++) {
          const [ax, ay] = v[k], [bx, by] = v[(k + 1) % 3];
          if ((bx - ax) * (y - ay) - (by - ay) * (x - ax) < 0) return false;
        }
        return true;
      };
    }
  }
}

function randomColour(rng: Rng): [number, number, number] {
  return [rng.int(256), rng.int(256), rng.int(256)];
}

/** One picture of `shape`, size × size pixels. */
export function drawShape(rng: Rng, shape: Shape, size = 64): RgbImage {
  const bg = randomColour(rng);
  let fg = randomColour(rng);
  // keep the shape visible: redraw its colour until it differs clearly from the background
  while (Math.abs(fg[0] - bg[0]) + Math.abs(fg[1] - bg[1]) + Math.abs(fg[2] - bg[2]) < 150) fg = randomColour(rng);
  const r = size * (0.18 + 0.14 * rng.next());
  const cx = r + (size - 2 * r) * rng.next(), cy = r + (size - 2 * r) * rng.next();
  const angle = shape === 'circle' ? 0 : rng.next() * 2 * Math.PI;
  const cos = Math.cos(angle), sin = Math.sin(angle);
  const inside = insideTest(shape, r);
  const rgb = new Uint8Array(size * size * 3), SS = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let hits = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const dx = px + (sx + 0.5) / SS - cx, dy = py + (sy + 0.5) / SS - cy;
          if (inside(cos * dx + sin * dy, -sin * dx + cos * dy)) hits++;
        }
      }
      const a = hits / (SS * SS), i = (py * size + px) * 3;
      for (let c = 0; c < 3; c++) rgb[i + c] = Math.max(0, Math.min(255, Math.round(fg[c] * a + bg[c] * (1 - a) + 6 * rng.normal())));
    }
  }
  return { width: size, height: size, rgb };
}

/**
 * Textures, the easier image task of the demo: stripes across or down, a checkerboard, or diagonal stripes,
 * in two random contrasting colours with a random period (6–16 pixels at 64×64, 3–8 once made 32×32) and phase, and noise.
 */
export const PATTERNS = ['horizontal', 'vertical', 'checker', 'diagonal'] as const;
export type Pattern = (typeof PATTERNS)[number];

export function drawPattern(rng: Rng, pattern: Pattern, size = 64, grey = false): RgbImage {
  const colour = (): [number, number, number] => {
    if (!grey) return randomColour(rng);
    const v = rng.int(256);
    return [v, v, v];
  };
  const a = colour();
  let b = colour();
  while (Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]) < 150) b = colour();
  const period = ((6 + rng.next() * 10) * size) / 64, phase = rng.next() * period, flip = rng.next() < 0.5;
  const on = (x: number, y: number): boolean => {
    const band = (t: number) => ((((t + phase) % period) + period) % period) < period / 2;
    switch (pattern) {
      case 'horizontal':
        return band(y);
      case 'vertical':
        return band(x);
      case 'checker':
        return band(x) !== band(y + phase);
      case 'diagonal':
        return band((flip ? x + y : x - y) / Math.SQRT2);
    }
  };
  const rgb = new Uint8Array(size * size * 3), SS = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let hits = 0;
      for (let sy = 0; sy < SS; sy++) for (let sx = 0; sx < SS; sx++) if (on(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS)) hits++;
      const f = hits / (SS * SS), i = (py * size + px) * 3;
      const noise = grey ? 6 * rng.normal() : 0;
      for (let c = 0; c < 3; c++) rgb[i + c] = Math.max(0, Math.min(255, Math.round(a[c] * f + b[c] * (1 - f) + (grey ? noise : 6 * rng.normal()))));
    }
  }
  return { width: size, height: size, rgb };
}
