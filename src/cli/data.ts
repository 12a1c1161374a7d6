/**
 * `bgpt data …`: preparing files as the paper's experiments did (32×32 BMP images, 8 kHz 8-bit one-second
 * WAV audio, ABC↔MIDI pairs, `Label_N.ext` class files) and generating the demo data sets.
 */
import type { Command } from 'commander';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { walkFiles } from '../data/files.js';
import { extensionOf } from '../data/patches.js';
import { abcToMidi, abcWarnings, splitTunes } from '../data/media/abc.js';
import { convertAudio, type AudioTarget } from '../data/media/audio.js';
import { planClasses, writeClasses } from '../data/media/classes.js';
import { convertImage, encodePng, type Fit } from '../data/media/image.js';
import { compareNotes, midiNotes, repairMidi } from '../data/media/midi.js';
import { repairMedia } from '../data/media/repair.js';
import { drawPattern, drawShape, PATTERNS, SHAPES, type Pattern, type Shape } from '../data/media/synthetic-shapes.js';
import { SOUND_RATE, SOUNDS, synthSound } from '../data/media/synthetic-sounds.js';
import { haveEspeak, speak, speechParams, WORDS } from '../data/media/synthetic-speech.js';
import { newsText, TOPICS } from '../data/media/synthetic-text.js';
import { randomTunebook } from '../data/media/synthetic-tunes.js';
import { encodeWav } from '../data/media/wav.js';
import { readInput } from '../tasks/eval.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Rng } from '../util/rng.js';
import { num } from './options.js';
import { progressLine } from './progress.js';

interface Input {
  path: string;
  /** Where it goes below the output folder: its path below the folder it was found in, or its name. */
  rel: string;
}

/** Files named on the command line, and the files found below folders named there. */
function inputsOf(paths: string[]): Input[] {
  const out: Input[] = [];
  for (const p of paths) {
    const before = out.length;
    const isDir = statOrThrow(p).isDirectory();
    for (const f of walkFiles([p])) out.push({ path: f, rel: isDir ? relative(p, f) : basename(f) });
    if (out.length === before) throw new Error(`${p}: no files found`);
  }
  return out;
}

function statOrThrow(p: string) {
  try {
    return statSync(p);
  } catch (e) {
    throw new Error(`${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message}`);
  }
}

/** The path without its extension. */
function stemOf(rel: string): string {
  const ext = extensionOf(rel);
  return ext ? rel.slice(0, -(ext.length + 1)) : rel;
}

function withExt(rel: string, ext: string): string {
  return `${stemOf(rel)}.${ext}`;
}

function write(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, bytes);
}

/** Runs `convert` over every input; a failure stops the batch (naming the file) unless `skip` is set. */
async function convertEach(
  inputs: Input[], skip: boolean, label: string,
  convert: (bytes: Uint8Array, input: Input) => Promise<{ path: string; bytes: Uint8Array }[]>,
): Promise<{ written: number; skipped: number }> {
  const progress = progressLine(label), seen = new Map<string, string>();
  let written = 0, skipped = 0;
  for (const [i, input] of inputs.entries()) {
    progress.update(`${i}/${inputs.length} ${input.path}`);
    let outs;
    try {
      outs = await convert(readInput(input.path), input);
    } catch (e) {
      const msg = `${input.path}: ${(e as Error).message}`;
      if (!skip) throw new Error(`${msg} (--skip-errors goes on past such files)`);
      progress.done();
      process.stderr.write(`bgpt: skipping ${msg}\n`);
      skipped++;
      continue;
    }
    for (const o of outs) {
      const prev = seen.get(o.path);
      if (prev !== undefined) throw new Error(`${input.path}: would overwrite ${o.path}, already written for ${prev}`);
      seen.set(o.path, input.path);
      write(o.path, o.bytes);
      written++;
    }
  }
  progress.done();
  return { written, skipped };
}

function report(what: string, out: string, r: { written: number; skipped: number }): void {
  console.log(`wrote ${r.written} ${what} to ${out}${r.skipped ? ` (skipped ${r.skipped} input files)` : ''}`);
}

/** The seed option, parsed. */
const seedOf = (s: string) => num('--seed', s, { int: true, min: 0 });

function emptyOrNew(dir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch {
    return;
  }
  if (names.length) throw new Error(`${dir}: not empty; write to a new folder (files left from before would mix into the classes)`);
}

export function registerData(program: Command): void {
  const data = program.command('data').description('prepare files as the paper did (images, audio, ABC/MIDI, classes) and make demo data');

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
      const r = await convertEach(inputsOf(inputs), !!o.skipErrors, 'images', async (bytes, input) => [
        { path: join(o.out, withExt(input.rel, 'bmp')), bytes: await convertImage(bytes, size, o.fit as Fit) },
      ]);
      report(`${size}×${size} BMP files`, o.out, r);
    });

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
      const r = await convertEach(inputsOf(inputs), !!o.skipErrors, 'audio', async (bytes, input) => [
        { path: join(o.out, withExt(input.rel, 'wav')), bytes: await convertAudio(bytes, t) },
      ]);
      report(`${t.rate} Hz ${bits}-bit mono WAV files of ${t.seconds} s`, o.out, r);
    });

  data
    .command('abc2midi')
    .description('ABC tunes → pairs NAME.abc + NAME.mid (abcjs) for conversion training (--convert abc->mid)')
    .argument('<inputs...>', 'ABC files or folders; a file with several tunes gives one pair per tune (NAME-X)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--skip-errors', 'report tunes that cannot be converted and go on')
    .action(async (inputs: string[], o: { out: string; skipErrors?: boolean }) => {
      let tunes = 0, warned = 0, bad = 0;
      const r = await convertEach(inputsOf(inputs), !!o.skipErrors, 'tunes', async (bytes, input) => {
        const all = splitTunes(Buffer.from(bytes).toString('utf8'));
        if (all.length === 0) throw new Error('no ABC tunes in it');
        const stem = stemOf(input.rel), used = new Set<string>();
        const outs: { path: string; bytes: Uint8Array }[] = [];
        all.forEach((t, i) => {
          // one pair per tune: NAME-X by the tune's X: number (its position when X is missing or repeats)
          const suffix = /^\w+$/.test(t.x) && !used.has(t.x) ? t.x : String(i + 1);
          used.add(suffix);
          const name = join(o.out, all.length === 1 ? stem : `${stem}-${suffix}`);
          let midi;
          try {
            midi = abcToMidi(t.abc);
          } catch (e) {
            const msg = `tune ${i + 1}${t.title ? ` ("${t.title}")` : ''}: ${(e as Error).message}`;
            if (!o.skipErrors) throw new Error(msg);
            process.stderr.write(`bgpt: skipping ${input.path}: ${msg}\n`);
            bad++;
            return;
          }
          if (abcWarnings(t.abc).length) warned++;
          outs.push({ path: `${name}.abc`, bytes: Buffer.from(t.abc, 'utf8') }, { path: `${name}.mid`, bytes: midi });
          tunes++;
        });
        return outs;
      });
      console.log(`wrote ${tunes} ABC/MIDI pairs to ${o.out}${warned ? ` (${warned} tunes had ABC warnings but converted)` : ''}${bad || r.skipped ? ` (skipped ${bad} tunes, ${r.skipped} files)` : ''}`);
    });

  data
    .command('classes')
    .description('a folder per class → LABEL_N.ext files (the names the classifier takes labels from)')
    .argument('<src>', 'folder with one subfolder per class')
    .requiredOption('--out <dir>', 'output folder (new or empty)')
    .option('--test-share <f>', 'put this share of each class in OUT/test, the rest in OUT/train (0 = all in OUT)', '0')
    .option('--seed <n>', 'random seed for the split', '0')
    .action((src: string, o: { out: string; testShare: string; seed: string }) => {
      const testShare = num('--test-share', o.testShare, { min: 0, max: 0.9 });
      emptyOrNew(o.out);
      const plan = planClasses(src, { testShare, rng: new Rng(seedOf(o.seed)) });
      writeClasses(plan, o.out);
      const per = new Map<string, number>();
      for (const f of plan) per.set(f.label, (per.get(f.label) ?? 0) + 1);
      const renamed = [...new Set(plan.filter((f) => f.label !== f.folder).map((f) => `${f.folder} → ${f.label}`))];
      console.log(`wrote ${plan.length} files of ${per.size} classes to ${o.out}${testShare ? ` (${plan.filter((f) => f.to.startsWith('test')).length} in test/)` : ''}: ${[...per].map(([l, n]) => `${l} ${n}`).join(', ')}`);
      if (renamed.length) console.log(`class names with '_' or separators were changed: ${renamed.join(', ')}`);
    });

  data
    .command('repair')
    .description('rewrite the headers of generated BMP / WAV files so that viewers and players open them')
    .argument('<files...>', '.bmp and .wav files or folders')
    .option('--out <dir>', 'write repaired copies here (default: in place)')
    .action((files: string[], o: { out?: string }) => {
      let fixed = 0, ok = 0, skipped = 0;
      for (const input of inputsOf(files)) {
        const r = repairMedia(readInput(input.path), extensionOf(input.path));
        if (!r) {
          skipped++;
          continue;
        }
        if (r.changed) fixed++;
        else ok++;
        if (r.changed || o.out) write(o.out ? join(o.out, input.rel) : input.path, r.bytes);
      }
      console.log(`${fixed} files repaired, ${ok} already fine${skipped ? `, ${skipped} not BMP/WAV (left alone)` : ''}`);
    });

  data
    .command('midi-match')
    .description('compare converted MIDI files with the references of the same name: parse rate and note match (also after rewriting chunk lengths)')
    .argument('<converted>', 'folder of converted .mid files')
    .argument('<reference>', 'folder with the reference .mid files (same names)')
    .option('--json', 'print one JSON object')
    .action((converted: string, reference: string, o: { json?: boolean }) => {
      const refs = new Map<string, string>();
      for (const f of walkFiles([reference])) if (extensionOf(f) === 'mid') refs.set(relative(reference, f), f);
      const rows: { file: string; parses: boolean; repaired: boolean; exact: boolean; bytesEqual: boolean; f1: number; error?: string }[] = [];
      for (const f of walkFiles([converted])) {
        if (extensionOf(f) !== 'mid') continue;
        const ref = refs.get(relative(converted, f));
        if (!ref) continue;
        const a = readInput(f), b = readInput(ref);
        let want;
        try {
          want = midiNotes(b).notes;
        } catch (e) {
          throw new Error(`${ref}: reference ${(e as Error).message}`);
        }
        const row = { file: f, parses: false, repaired: false, exact: false, bytesEqual: Buffer.compare(a, b) === 0, f1: 0, error: undefined as string | undefined };
        try {
          const m = compareNotes(want, midiNotes(a).notes);
          Object.assign(row, { parses: true, exact: m.exact, f1: m.f1 });
        } catch (e) {
          row.error = (e as Error).message;
          // the usual fault of a generated file: chunk lengths that do not fit its events
          const fixed = repairMidi(a);
          try {
            if (fixed) Object.assign(row, { repaired: true, f1: compareNotes(want, midiNotes(fixed).notes).f1 });
          } catch {
            // not even with lengths rewritten
          }
        }
        rows.push(row);
      }
      if (rows.length === 0) throw new Error(`${converted}: no .mid files with a reference of the same name in ${reference}`);
      const share = (p: (r: (typeof rows)[number]) => boolean) => rows.filter(p).length / rows.length;
      const s = {
        files: rows.length,
        parses: share((r) => r.parses),
        notes_match: share((r) => r.exact),
        parses_after_repair: share((r) => r.parses || r.repaired),
        notes_match_after_repair: share((r) => r.exact || (r.repaired && r.f1 === 1)),
        bytes_equal: share((r) => r.bytesEqual),
        mean_note_f1: rows.reduce((a, r) => a + r.f1, 0) / rows.length,
      };
      if (o.json) return console.log(JSON.stringify({ ...s, rows }));
      for (const r of rows) {
        const notes = r.f1 === 1 ? 'notes match' : `note F1 ${r.f1.toFixed(3)}`;
        console.log(`${r.file}\t${r.parses ? notes : `does not parse: ${r.error}${r.repaired ? `; with chunk lengths repaired: ${notes}` : ''}`}${r.bytesEqual ? ' (byte-identical)' : ''}`);
      }
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
      console.log(`${s.files} files: ${pct(s.parses)} parse as MIDI and ${pct(s.notes_match)} play the reference notes (${pct(s.parses_after_repair)} and ${pct(s.notes_match_after_repair)} with chunk lengths repaired), ${pct(s.bytes_equal)} byte-identical, mean note F1 ${s.mean_note_f1.toFixed(3)}`);
    });

  // ---- demo data generators -------------------------------------------------------------------------------

  const perClass = (s: string) => num('--count', s, { int: true, min: 1 });

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
      const n = perClass(o.count), size = num('--size', o.size, { int: true, min: 8, max: 1024 }), rng = new Rng(seedOf(o.seed));
      const classes: readonly string[] = o.patterns ? PATTERNS : SHAPES;
      const draw = (c: string) => (o.patterns ? drawPattern(rng, c as Pattern, size, !!o.grey) : drawShape(rng, c as Shape, size));
      const progress = progressLine('pictures');
      for (let i = 0; i < n; i++) {
        for (const c of classes) write(join(o.out, c, `${i + 1}.png`), await encodePng(draw(c)));
        progress.update(`${i + 1}/${n}`);
      }
      progress.done();
      console.log(`wrote ${n * classes.length} PNG pictures of ${classes.length} ${o.patterns ? 'patterns' : 'shapes'} to ${o.out}`);
    });

  data
    .command('sounds')
    .description(`demo audio: OUT/<kind>/<n>.wav (22.05 kHz 16-bit) for ${SOUNDS.join(', ')}`)
    .requiredOption('--out <dir>', 'output folder')
    .option('--count <n>', 'recordings per class', '100')
    .option('--seed <n>', 'random seed', '0')
    .action((o: { out: string; count: string; seed: string }) => {
      const n = perClass(o.count), rng = new Rng(seedOf(o.seed));
      for (let i = 0; i < n; i++) for (const s of SOUNDS) write(join(o.out, s, `${i + 1}.wav`), encodeWav(synthSound(rng, s), { sampleRate: SOUND_RATE, channels: 1, bits: 16 }));
      console.log(`wrote ${n * SOUNDS.length} WAV files of ${SOUNDS.length} kinds of sound to ${o.out}`);
    });

  data
    .command('speech')
    .description('demo audio: OUT/<word>/<n>.wav spoken by espeak-ng (apt-get install espeak-ng) in random voices')
    .requiredOption('--out <dir>', 'output folder')
    .option('--count <n>', 'recordings per word', '100')
    .option('--words <list>', 'comma-separated words', WORDS.join(','))
    .option('--seed <n>', 'random seed', '0')
    .action((o: { out: string; count: string; words: string; seed: string }) => {
      const n = perClass(o.count), rng = new Rng(seedOf(o.seed));
      const words = o.words.split(',').map((w) => w.trim()).filter(Boolean);
      if (!words.length) throw new Error('--words is empty');
      for (const w of words) if (!/^[a-z][a-z' -]*$/i.test(w)) throw new Error(`--words: "${w}" is not a plain word`);
      if (!haveEspeak()) throw new Error('espeak-ng is not installed (Debian: apt-get install espeak-ng); bgpt data sounds makes synthesized sounds instead');
      const progress = progressLine('speech');
      for (let i = 0; i < n; i++) {
        for (const w of words) {
          const s = speak(w, speechParams(rng), rng);
          write(join(o.out, w.replace(/[^a-z]+/gi, '-'), `${i + 1}.wav`), encodeWav(s.samples, { sampleRate: s.sampleRate, channels: 1, bits: 16 }));
        }
        progress.update(`${i + 1}/${n}`);
      }
      progress.done();
      console.log(`wrote ${n * words.length} spoken words (${words.join(', ')}) to ${o.out}`);
    });

  data
    .command('text')
    .description(`demo text: OUT/<topic>/<n>.txt news snippets for ${TOPICS.join(', ')}`)
    .requiredOption('--out <dir>', 'output folder')
    .option('--count <n>', 'snippets per topic', '100')
    .option('--seed <n>', 'random seed', '0')
    .action((o: { out: string; count: string; seed: string }) => {
      const n = perClass(o.count), rng = new Rng(seedOf(o.seed));
      for (let i = 0; i < n; i++) for (const t of TOPICS) write(join(o.out, t, `${i + 1}.txt`), Buffer.from(newsText(rng, t)));
      console.log(`wrote ${n * TOPICS.length} text files of ${TOPICS.length} topics to ${o.out}`);
    });

  data
    .command('tunes')
    .description('demo music: one ABC file of generated folk-like tunes (reels, jigs, waltzes)')
    .requiredOption('--out <file.abc>', 'output file')
    .option('--count <n>', 'tunes', '100')
    .option('--bars <n>', 'bars per tune', '8')
    .option('--seed <n>', 'random seed', '0')
    .action((o: { out: string; count: string; bars: string; seed: string }) => {
      const n = perClass(o.count), bars = num('--bars', o.bars, { int: true, min: 1, max: 256 });
      mkdirSync(dirname(o.out), { recursive: true });
      writeFileSync(o.out, randomTunebook(new Rng(seedOf(o.seed)), n, { bars }));
      console.log(`wrote ${n} tunes to ${o.out}`);
    });
}
