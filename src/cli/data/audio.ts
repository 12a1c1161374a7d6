import type { Command } from 'commander';
import type { AudioTarget } from '../../data/media/audio.js';
import { audioFiles } from '../../tasks/data/convert.js';
import { num } from '../options.js';
import { batchHooks, report } from './common.js';

export function registerAudio(data: Command): void {
  data
    .command('audio')
    .description('audio (WAV, MP3, FLAC, Ogg, QOA) → mono PCM WAV cut or padded to a fixed length (8 kHz, 8-bit, 1 s as in the paper)')
    .argument('<inputs...>', 'audio files or folders (the folder structure is kept below --out)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--rate <hz>', 'sample rate', '8000')
    .option('--seconds <s>', 'length: longer input is cut, shorter padded with silence', '1')
    .option('--bits <b>', '8 (unsigned, as the paper) or 16', '8')
    .option('--skip-errors', 'report files that cannot be decoded and go on')
    .action(async (inputs: string[], o: { out: string; rate: string; seconds: string; bits: string; skipErrors?: boolean }) => {
      const bits = num('--bits', o.bits, { int: true });
      if (bits !== 8 && bits !== 16) throw new Error(`--bits must be 8 or 16, not "${o.bits}"`);
      const t: AudioTarget = { rate: num('--rate', o.rate, { int: true, min: 1000, max: 192000 }), seconds: num('--seconds', o.seconds, { min: 0.001, max: 3600 }), bits };
      const r = await audioFiles(inputs, { out: o.out, target: t, skipErrors: !!o.skipErrors }, batchHooks('audio'));
      report(`${t.rate} Hz ${bits}-bit mono WAV files of ${t.seconds} s`, o.out, r);
    });
}
