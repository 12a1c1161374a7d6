import type { Command } from 'commander';
import { repairFiles } from '../../tasks/data/repair.js';

export function registerRepair(data: Command): void {
  data
    .command('repair')
    .description('rewrite the headers of generated BMP / WAV files so that viewers and players open them')
    .argument('<files...>', '.bmp and .wav files or folders')
    .option('--out <dir>', 'write repaired copies here (default: in place)')
    .action((files: string[], o: { out?: string }) => {
      const r = repairFiles(files, o.out);
      console.log(`${r.fixed} files repaired, ${r.ok} already fine${r.skipped ? `, ${r.skipped} not BMP/WAV (left alone)` : ''}`);
    });
}
