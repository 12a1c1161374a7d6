import type { Command } from 'commander';
import type { Fit } from '../../data/media/image.js';
import { imageFiles } from '../../tasks/data/convert.js';
import { num } from '../options.js';
import { batchHooks, report } from './common.js';

export function registerImage(data: Command): void {
  data
    .command('image')
    .description('images (PNG, JPEG, BMP, GIF, TIFF) → 24-bit BMP of size×size (32×32 as in the paper)')
    .argument('<inputs...>', 'image files or folders (the folder structure is kept below --out)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--size <n>', 'width and height in pixels', '32')
    .option('--fit <how>', 'non-square pictures: crop (the centre square), stretch, or pad (black bars)', 'crop')
    .option('--skip-errors', 'report files that cannot be decoded and go on')
    .action(async (inputs: string[], o: { out: string; size: string; fit: string; skipErrors?: boolean }) => {
      const size = num('--size', o.size, { int: true, min: 1, max: 4096 });
      if (!['crop', 'stretch', 'pad'].includes(o.fit)) throw new Error(`--fit must be crop, stretch or pad, not "${o.fit}"`);
      const r = await imageFiles(inputs, { out: o.out, size, fit: o.fit as Fit, skipErrors: !!o.skipErrors }, batchHooks('images'));
      report(`${size}×${size} BMP files`, o.out, r);
    });
}
