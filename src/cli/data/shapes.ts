import type { Command } from 'commander';
import { PATTERNS, SHAPES } from '../../data/media/synthetic-shapes.js';
import { shapeSet } from '../../tasks/data/demo-sets.js';
import { num } from '../options.js';
import { progressLine } from '../progress.js';
import { perClass, seedOf } from './common.js';

export function registerShapes(data: Command): void {
  data
    .command('shapes')
    .description(`demo images: OUT/<class>/<n>.png, drawn shapes (${SHAPES.join(', ')}) or, with --patterns, textures (${PATTERNS.join(', ')})`)
    .requiredOption('--out <dir>', 'output folder')
    .option('--patterns', 'textures instead of shapes (an easier task for a small model)')
    .option('--grey', 'grey levels only (R = G = B)')
    .option('--count <n>', 'pictures per class', '100')
    .option('--size <px>', 'picture size (bgpt data image makes them 32×32)', '64')
    .option('--seed <n>', 'random seed', '0')
    .action(async (o: { out: string; patterns?: boolean; grey?: boolean; count: string; size: string; seed: string }) => {
      if (o.grey && !o.patterns) throw new Error('--grey is for --patterns');
      const n = perClass(o.count), size = num('--size', o.size, { int: true, min: 8, max: 1024 }), seed = seedOf(o.seed);
      const classes = await shapeSet(o.out, { patterns: !!o.patterns, grey: !!o.grey, count: n, size, seed }, progressLine('pictures'));
      console.log(`wrote ${n * classes.length} PNG pictures of ${classes.length} ${o.patterns ? 'patterns' : 'shapes'} to ${o.out}`);
    });
}
