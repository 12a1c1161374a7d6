/**
 * `bgpt data …`: preparing files as the paper's experiments did (32×32 BMP images, 8 kHz 8-bit one-second
 * WAV audio, ABC↔MIDI pairs, `Label_N.ext` class files) and generating the demo data sets. Each subcommand
 * parses its arguments in cli/data/ and does its work in tasks/data/.
 */
import type { Command } from 'commander';
import { registerAbc2Midi } from './data/abc2midi.js';
import { registerAudio } from './data/audio.js';
import { registerClasses } from './data/classes.js';
import { registerCorpus } from './data/corpus.js';
import { registerDetectSet } from './data/detect-set.js';
import { registerImage } from './data/image.js';
import { registerMidiMatch } from './data/midi-match.js';
import { registerRepair } from './data/repair.js';
import { registerShapes } from './data/shapes.js';
import { registerSounds } from './data/sounds.js';
import { registerSpeech } from './data/speech.js';
import { registerText } from './data/text.js';
import { registerTunes } from './data/tunes.js';

export function registerData(program: Command): void {
  const data = program.command('data').description('prepare files as the paper did (images, audio, ABC/MIDI, classes) and make demo data');
  for (const register of [registerCorpus, registerDetectSet, registerImage, registerAudio, registerAbc2Midi, registerClasses, registerRepair, registerMidiMatch, registerShapes, registerSounds, registerSpeech, registerText, registerTunes]) register(data);
}
