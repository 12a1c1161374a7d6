import type { Command } from 'commander';
import { abcPairs } from '../../tasks/data/convert.js';
import { batchHooks } from './common.js';

export function registerAbc2Midi(data: Command): void {
  data
    .command('abc2midi')
    .description('ABC tunes → pairs NAME.abc + NAME.mid (abcjs) for conversion training (--convert abc->mid)')
    .argument('<inputs...>', 'ABC files or folders; a file with several tunes gives one pair per tune (NAME-X)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--skip-errors', 'report tunes that cannot be converted and go on')
    .action(async (inputs: string[], o: { out: string; skipErrors?: boolean }) => {
      const r = await abcPairs(inputs, { out: o.out, skipErrors: !!o.skipErrors }, batchHooks('tunes'));
      console.log(`wrote ${r.tunes} ABC/MIDI pairs to ${o.out}${r.warned ? ` (${r.warned} tunes had ABC warnings but converted)` : ''}${r.bad || r.skipped ? ` (skipped ${r.bad} tunes, ${r.skipped} files)` : ''}`);
    });
}
