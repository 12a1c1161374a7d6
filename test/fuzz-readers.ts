/**
 * The reader fuzzer, run by fuzz.test.ts in a child process (a hang then ends as a timeout, not a stuck
 * suite): seeded mutations — bit flips, byte overwrites, truncations, splices, huge length fields — of small
 * valid files of every format the project reads, each handed to its readers. A case passes when the readers
 * load the bytes or refuse them with the project's clean error: an `Error` (not a TypeError or RangeError)
 * with a one-line message that, for a file, starts with its path and then says something of our own — not an
 * engine message passed through. Prints one JSON object: per-reader counts and times, failures, memory.
 *
 *   node --import tsx test/fuzz-readers.ts [cases per fixture] [seed] [progress file]
 * (FUZZ_MESSAGES=1 also lists every refusal on stderr, to read what the readers say.)
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeMidi } from 'midi-file';
import { decodeAudio } from '../src/data/media/audio.js';
import { decodeBmp, encodeBmp, readBmpHeader, repairBmp } from '../src/data/media/bmp.js';
import { midiNotes, repairMidi } from '../src/data/media/midi.js';
import { encodeWav, readWavInfo, repairWav } from '../src/data/media/wav.js';
import {
  AdamW, BgptClassifier, BgptModel, Rng, checkpointOf, exportPth, loadCheckpoint, loadModelFile, saveCheckpoint, saveWeights, simulate, tsKernels,
} from '../src/index.js';
import { ZipReader } from '../src/io/pth/zip.js';
import { ZipWriter } from '../src/io/pth/zip-write.js';
import { assemble } from '../src/sim/asm.js';
import type { CpuConfig } from '../src/sim/isa.js';
import { readStates, runStates } from '../src/sim/states.js';
import { formatStates } from '../src/sim/translate.js';

const perFixture = Number(process.argv[2] ?? 300), seed = Number(process.argv[3] ?? 1), progress = process.argv[4];
const dir = mkdtempSync(join(tmpdir(), 'bgpt-fuzz-'));
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

// ---- the fixtures: small valid files, made here (a tiny model keeps each load well under a millisecond)

const cfg = { patchSize: 2, patchLength: 4, hidden: 8, patchLayers: 1, byteLayers: 1, heads: 1 };
const gen = new BgptModel(tsKernels, cfg, { rng: new Rng(1) });
const cls = new BgptClassifier(tsKernels, cfg, 3, { rng: new Rng(2) });
const adam = new AdamW(tsKernels, gen.layout.size, { lr: 1e-3 });
adam.m.fill(0.25);
adam.v.fill(0.5);
adam.step = 7;
const training = { epoch: 2, bestEpoch: 1, bestEvalLoss: 1.5, schedule: { position: 7, warmupSteps: 2, totalSteps: 20, baseLr: 1e-3 }, rng: { train: new Rng(3).getState() }, extra: { step: 7, batch: 1, seed: 0 } };

function fileBytes(name: string, write: (path: string) => void): Buffer {
  const p = join(dir, name);
  write(p);
  return readFileSync(p);
}

const genPth = fileBytes('gen.pth', (p) => exportPth(p, checkpointOf(gen, { optimizer: adam, training }), { optimizer: true }));
const clsPth = fileBytes('cls.pth', (p) => exportPth(p, checkpointOf(cls, { task: { kind: 'classification', labels: ['a', 'b', 'c'] } }), { dtype: 'BF16' }));
const plainSt = fileBytes('plain.safetensors', (p) => saveWeights(p, gen.layout, gen.params.data));
const genCk = fileBytes('gen.ck.safetensors', (p) => saveCheckpoint(p, checkpointOf(gen, { task: { kind: 'conversion', mode: 'abc->mid' }, optimizer: adam, training })));
const clsCk = fileBytes('cls.ck.safetensors', (p) => saveCheckpoint(p, checkpointOf(cls, { task: { kind: 'classification', labels: ['x', 'y', 'z'] } })));

const bmp = encodeBmp({ width: 5, height: 3, rgb: Uint8Array.from({ length: 45 }, (_, i) => i * 5) });
const bmpTopDown = Buffer.from(bmp);
bmpTopDown.writeInt32LE(-3, 22);
const wav8 = encodeWav(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i / 3)), { sampleRate: 8000, channels: 1, bits: 8 });
const wav16 = encodeWav(Float32Array.from({ length: 48 }, (_, i) => Math.cos(i / 5) / 2), { sampleRate: 11025, channels: 2, bits: 16 });
const note = (deltaTime: number, type: 'noteOn' | 'noteOff', noteNumber: number) => ({ deltaTime, channel: 0, type, noteNumber, velocity: type === 'noteOn' ? 90 : 0 });
const midi = Uint8Array.from(writeMidi({
  header: { format: 1, numTracks: 2, ticksPerBeat: 96 },
  tracks: [
    [{ deltaTime: 0, meta: true, type: 'setTempo', microsecondsPerBeat: 500000 }, { deltaTime: 0, meta: true, type: 'endOfTrack' }],
    [note(0, 'noteOn', 60), note(96, 'noteOff', 60), note(0, 'noteOn', 64), note(48, 'noteOff', 64), { deltaTime: 0, meta: true, type: 'endOfTrack' }],
  ],
} as Parameters<typeof writeMidi>[0]));
const cpu: CpuConfig = { registers: 10, memory: 64 };
const first = Uint8Array.from([0, 0, 0, 0, 0, 0, 3, 1, 4, 1, 5, 9, 2, 6, 5, 3]);
const states = runStates(assemble('PUSH A\nADD B\nSUB A B C\nMUL C\nHLT', cpu), first, cpu);

// ---- what counts as clean

/** Messages that are an engine's or Node's own: seen at the start of a message, nothing of ours was said. */
const RAW = [
  /^Cannot (read|set) propert/, /is not (a function|iterable|defined|a constructor)/, /^Cannot convert/, /^Invalid (typed )?array length/,
  /^Offset is outside the bounds/, /^Invalid (string length|DataView)/, /^Array buffer allocation failed/, /^Maximum call stack/,
  /^The value of ".*" is out of range/, /^Attempt to access memory outside buffer bounds/, /^The "\w+" argument/, /^Start offset/,
  /^(Unexpected (token|end of JSON)|Expected .* in JSON)/, /^(undefined|null|NaN)$/, /^Reduce of empty array/, /^Cannot mix BigInt/,
];

/** Why an error is not the project's clean refusal (null when it is). */
function unclean(e: unknown, path?: string): string | null {
  if (!(e instanceof Error)) return `threw a non-Error: ${String(e)}`;
  if (e.constructor !== Error) return `${e.name}`;
  let m = e.message;
  if (!m.trim()) return 'empty message';
  if (/[\x00-\x1f\x7f]/.test(m)) return 'control characters (a line break?) in the message';
  if (path !== undefined) {
    if (!m.startsWith(`${path}: `)) return 'message does not start with the file name';
    m = m.slice(path.length + 2);
  }
  if (RAW.some((r) => r.test(m))) return 'an engine message passed through';
  return null;
}

// ---- mutations

type Mutation = { what: string; bytes: Uint8Array };

/** Offsets of length and offset fields of a format (u32 unless `size` says otherwise; little endian unless `be`). */
type Field = { at: number; size: 2 | 4 | 8; be?: boolean };

function zipFields(b: Uint8Array): Field[] {
  const f: Field[] = [], v = Buffer.from(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i + 4 <= b.length; i++) {
    const sig = v.readUInt32LE(i);
    if (sig === 0x04034b50) f.push({ at: i + 18, size: 4 }, { at: i + 22, size: 4 }, { at: i + 26, size: 2 }, { at: i + 28, size: 2 });
    else if (sig === 0x02014b50) f.push({ at: i + 20, size: 4 }, { at: i + 24, size: 4 }, { at: i + 28, size: 2 }, { at: i + 30, size: 2 }, { at: i + 32, size: 2 }, { at: i + 42, size: 4 });
    else if (sig === 0x06054b50) f.push({ at: i + 8, size: 2 }, { at: i + 10, size: 2 }, { at: i + 12, size: 4 }, { at: i + 16, size: 4 }, { at: i + 20, size: 2 });
  }
  return f.filter((x) => x.at + x.size <= b.length);
}

/** Pickle opcodes followed by a length or memo index (BINUNICODE, BINBYTES, SHORT_BINUNICODE, BINPUT…). */
function pickleFields(b: Uint8Array): Field[] {
  const f: Field[] = [];
  for (let i = 0; i + 1 < b.length; i++) {
    if (b[i] === 0x58 || b[i] === 0x42 || b[i] === 0x72 || b[i] === 0x6a || b[i] === 0x8b) f.push({ at: i + 1, size: 4 });
    if (b[i] === 0x8c || b[i] === 0x71 || b[i] === 0x68 || b[i] === 0x4b) f.push({ at: i + 1, size: 2 });
  }
  return f.filter((x) => x.at + x.size <= b.length);
}

const stFields = (b: Uint8Array): Field[] => [{ at: 0, size: 8 }];
const bmpFields = (): Field[] => [2, 10, 14, 18, 22, 34].map((at) => ({ at, size: 4 as const }));
function riffFields(b: Uint8Array): Field[] {
  const f: Field[] = [{ at: 4, size: 4 }];
  for (let at = 12; at + 8 <= b.length; at += 8 + Buffer.from(b).readUInt32LE(at + 4)) f.push({ at: at + 4, size: 4 });
  return f;
}
function midiFields(b: Uint8Array): Field[] {
  const f: Field[] = [{ at: 4, size: 4, be: true }, { at: 10, size: 2, be: true }, { at: 12, size: 2, be: true }];
  for (let i = 14; i + 8 <= b.length; i++) if (b[i] === 0x4d && b[i + 1] === 0x54 && b[i + 2] === 0x72 && b[i + 3] === 0x6b) f.push({ at: i + 4, size: 4, be: true });
  return f;
}

const HUGE = [0xffffffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0x10000000];

function mutate(src: Uint8Array, rng: Rng, fields: Field[], other: Uint8Array): Mutation {
  const b = Buffer.from(src), n = b.length, pos = () => rng.int(n);
  switch (rng.int(7)) {
    case 0: {
      const k = 1 + rng.int(8), at: number[] = [];
      for (let i = 0; i < k; i++) {
        const p = pos();
        b[p] ^= 1 << rng.int(8);
        at.push(p);
      }
      return { what: `flip bits at ${at.join(',')}`, bytes: b };
    }
    case 1: {
      const p = pos(), v = [0, 0xff, 0x7f, 0x80, rng.int(256)][rng.int(5)], len = 1 + rng.int(4);
      b.fill(v, p, Math.min(n, p + len));
      return { what: `set ${len} bytes at ${p} to ${v}`, bytes: b };
    }
    case 2: {
      // cut: anywhere, or close to the end (where trailers and directories live)
      const at = rng.int(2) ? rng.int(n) : Math.max(0, n - 1 - rng.int(64));
      return { what: `truncate to ${at}`, bytes: b.subarray(0, at) };
    }
    case 3: {
      // splice: a chunk of this file or another one inserted, or a chunk removed
      const p = pos(), len = 1 + rng.int(64);
      if (rng.int(2)) {
        const from = rng.int(other.length);
        return { what: `insert ${len} bytes at ${p}`, bytes: Buffer.concat([b.subarray(0, p), other.subarray(from, from + len), b.subarray(p)]) };
      }
      return { what: `delete ${len} bytes at ${p}`, bytes: Buffer.concat([b.subarray(0, p), b.subarray(p + len)]) };
    }
    case 4: {
      // a chunk copied over another place of the same file (duplicated headers, entries pointing at each other)
      const from = pos(), to = pos(), len = 1 + rng.int(32);
      b.set(src.subarray(from, Math.min(from + len, n, from + n - to)), to);
      return { what: `copy ${len} bytes from ${from} to ${to}`, bytes: b };
    }
    default: {
      // a huge (or merely wrong) length: in a known length field, or anywhere
      const f = fields.length && rng.int(4) ? fields[rng.int(fields.length)] : { at: rng.int(Math.max(1, n - 4)), size: 4 as const, be: rng.int(2) === 1 };
      if (f.at + f.size > n) return { what: 'unchanged', bytes: b };
      const v = rng.int(3) ? HUGE[rng.int(HUGE.length)] : n + rng.int(64) - 32;
      if (f.size === 8) {
        const big = [0xffffffffffffffffn, 0x7fffffffffffffffn, 1n << 53n, BigInt(v)][rng.int(4)];
        if (f.be) b.writeBigUInt64BE(big, f.at);
        else b.writeBigUInt64LE(big, f.at);
      } else if (f.size === 2) {
        if (f.be) b.writeUInt16BE(v & 0xffff, f.at);
        else b.writeUInt16LE(v & 0xffff, f.at);
      } else if (f.be) b.writeUInt32BE(v >>> 0, f.at);
      else b.writeUInt32LE(v >>> 0, f.at);
      return { what: `length field at ${f.at} (${f.size} bytes${f.be ? ', BE' : ''}) set to ${v}`, bytes: b };
    }
  }
}

/** Mutations inside a safetensors header's JSON, the length kept consistent: values the readers must check. */
function mutateHeader(src: Uint8Array, rng: Rng): Mutation {
  const len = Number(Buffer.from(src).readBigUInt64LE(0));
  const h = JSON.parse(Buffer.from(src.subarray(8, 8 + len)).toString()) as Record<string, Record<string, unknown>>;
  const weird = [-1, 0, 1e30, 2 ** 53, 1.5, 'x', null, [], {}, [1, 2], '{"patchSize":1e9}', 'NaN', true, ''];
  const keys = Object.keys(h), k = keys[rng.int(keys.length)], entry = h[k], fields = Object.keys(entry), f = fields[rng.int(fields.length)];
  let what: string;
  if (k === '__metadata__' && rng.int(2)) {
    // metadata values are JSON text: change one value inside it
    let inner: unknown;
    try {
      inner = JSON.parse(entry[f] as string);
    } catch {
      inner = entry[f];
    }
    if (inner && typeof inner === 'object') {
      const ik = Object.keys(inner), sub = ik[rng.int(ik.length)];
      (inner as Record<string, unknown>)[sub] = weird[rng.int(weird.length)];
      what = `${k}.${f}.${sub} = ${JSON.stringify((inner as Record<string, unknown>)[sub])}`;
    } else what = `${k}.${f} = ${JSON.stringify((inner = weird[rng.int(weird.length)]))}`;
    entry[f] = JSON.stringify(inner);
  } else {
    const v = weird[rng.int(weird.length)];
    if (rng.int(3) === 0 && Array.isArray(entry[f])) (entry[f] as unknown[])[rng.int((entry[f] as unknown[]).length)] = v;
    else entry[f] = v;
    what = `${k}.${f} ← ${JSON.stringify(v)}`;
  }
  const json = Buffer.from(JSON.stringify(h)), head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  return { what: `header: ${what}`, bytes: Buffer.concat([head, json, src.subarray(8 + len)]) };
}

/** A .pth rebuilt around a mutated pickle (valid zip and CRCs, so the unpickler and tensor rebuild see it). */
function pthWithPickle(src: Buffer, name: string) {
  const p = join(dir, `${name}.src.pth`);
  writeFileSync(p, src);
  const z = new ZipReader(p);
  const entries = [...z.entries.keys()].map((n) => [n, z.read(n)] as const);
  z.close();
  const pkl = entries.find(([n]) => n.endsWith('/data.pkl'))!;
  return {
    pickle: pkl[1],
    rebuild(pickle: Uint8Array): Uint8Array {
      const out = join(dir, `${name}.rebuilt.pth`), fd = openSync(out, 'w'), zw = new ZipWriter(fd);
      for (const [n, data] of entries) zw.add(n, n === pkl[0] ? pickle : data);
      zw.finish();
      closeSync(fd);
      return readFileSync(out);
    },
  };
}

// ---- the readers

interface Target {
  reader: string;
  fixture: string;
  bytes: Uint8Array;
  fields: Field[];
  /** Makes the case's bytes (default: a generic mutation of `bytes`). */
  make?: (rng: Rng) => Mutation;
  run: (bytes: Uint8Array) => Promise<Outcome> | Outcome;
}

/** Loaded (nothing set), refused cleanly (`refused`: the message) or not clean (`bad`: why, and the message). */
interface Outcome {
  refused?: string;
  bad?: string;
  message?: string;
}

function outcome(e: unknown, path?: string, reader = ''): Outcome {
  const why = unclean(e, path), message = e instanceof Error ? e.message : String(e);
  return why ? { bad: `${reader}${why}`, message } : { refused: message };
}

/** Readers that take a path: the bytes are written to a file first. */
function fromFile(ext: string, read: (path: string) => unknown) {
  const path = join(dir, `case${ext}`);
  return (bytes: Uint8Array): Outcome => {
    writeFileSync(path, bytes);
    try {
      read(path);
      return {};
    } catch (e) {
      return outcome(e, path);
    }
  };
}

/** Readers that take bytes: every one of them must load or refuse cleanly. */
function fromBytes(...readers: ((b: Uint8Array) => unknown)[]) {
  return async (bytes: Uint8Array): Promise<Outcome> => {
    let r: Outcome = {};
    for (const read of readers) {
      try {
        await read(bytes);
      } catch (e) {
        const o = outcome(e, undefined, `${read.name || 'a reader'}: `);
        if (o.bad) return o;
        r = o;
      }
    }
    return r;
  };
}

const loadModel = fromFile('.pth', (p) => loadModelFile(tsKernels, p));
const loadSt = fromFile('.safetensors', (p) => loadModelFile(tsKernels, p));
const loadCk = fromFile('.safetensors', (p) => loadCheckpoint(p));
const mixed = readFileSync(join(FIXTURES, 'tiny-mixed.pth'));
const pickles = [pthWithPickle(genPth, 'gen'), pthWithPickle(clsPth, 'cls')];

const targets: Target[] = [
  { reader: '.pth', fixture: 'generative + optimizer', bytes: genPth, fields: zipFields(genPth), run: loadModel },
  { reader: '.pth', fixture: 'classifier, bf16', bytes: clsPth, fields: zipFields(clsPth), run: loadModel },
  { reader: '.pth', fixture: 'tiny-mixed.pth', bytes: mixed, fields: zipFields(mixed), run: loadModel },
  ...pickles.map((p, i): Target => ({
    reader: 'pickle in .pth', fixture: i ? 'classifier' : 'generative + optimizer', bytes: p.pickle, fields: pickleFields(p.pickle),
    make: (rng) => {
      const m = mutate(p.pickle, rng, pickleFields(p.pickle), p.pickle);
      return { what: m.what, bytes: p.rebuild(m.bytes) };
    },
    run: loadModel,
  })),
  { reader: 'safetensors', fixture: 'plain weights', bytes: plainSt, fields: stFields(plainSt), run: loadSt },
  { reader: 'safetensors', fixture: 'plain weights, header values', bytes: plainSt, fields: [], make: (rng) => mutateHeader(plainSt, rng), run: loadSt },
  { reader: 'bgpt checkpoint', fixture: 'conversion + optimizer + training', bytes: genCk, fields: stFields(genCk), run: loadCk },
  { reader: 'bgpt checkpoint', fixture: 'conversion, header values', bytes: genCk, fields: [], make: (rng) => mutateHeader(genCk, rng), run: loadCk },
  { reader: 'bgpt checkpoint', fixture: 'classifier, header values', bytes: clsCk, fields: [], make: (rng) => mutateHeader(clsCk, rng), run: loadCk },
  { reader: 'BMP', fixture: '5×3, bottom-up', bytes: bmp, fields: bmpFields(), run: fromBytes(decodeBmp, readBmpHeader, repairBmp, (b) => repairBmp(b, { width: 5, height: 3 })) },
  { reader: 'BMP', fixture: '5×3, top-down', bytes: bmpTopDown, fields: bmpFields(), run: fromBytes(decodeBmp, repairBmp) },
  { reader: 'WAV', fixture: '8-bit mono', bytes: wav8, fields: riffFields(wav8), run: fromBytes(readWavInfo, repairWav, decodeAudio) },
  { reader: 'WAV', fixture: '16-bit stereo', bytes: wav16, fields: riffFields(wav16), run: fromBytes(readWavInfo, repairWav, decodeAudio) },
  { reader: 'MIDI', fixture: 'two tracks', bytes: midi, fields: midiFields(midi), run: fromBytes(midiNotes, repairMidi) },
  {
    reader: 'CPU states', fixture: '64 bytes of memory, 5 instructions', bytes: states, fields: [],
    run: (bytes) => {
      const viaFile = fromFile('.bin', (p) => {
        const s = readStates(p, cpu);
        formatStates(bytes, cpu);
        try {
          simulate(s.memory, s.first, cpu);
        } catch (e) {
          // a program that is no longer valid is refused by the simulator: with a message of its own
          const why = unclean(e);
          throw why ? e : new Error(`${p}: ${(e as Error).message}`);
        }
      });
      return viaFile(bytes);
    },
  },
];

// ---- the run

interface Stats { cases: number; loaded: number; refused: number; totalMs: number; maxMs: number }
const stats: Record<string, Stats> = {};
const failures: { reader: string; fixture: string; case: number; mutation: string; why: string; message: string }[] = [];
const rss0 = process.memoryUsage().rss;
let peakRss = rss0, peakArrayBuffers = 0, cases = 0;
const rng = new Rng(seed);
const t0 = performance.now();
for (const t of targets) {
  const s = (stats[t.reader] ??= { cases: 0, loaded: 0, refused: 0, totalMs: 0, maxMs: 0 });
  for (let i = 0; i < perFixture; i++) {
    const m = t.make ? t.make(rng) : mutate(t.bytes, rng, t.fields, t.bytes);
    if (progress) writeFileSync(progress, `${t.reader} (${t.fixture}) case ${i}: ${m.what}`);
    const start = performance.now();
    const o = await Promise.resolve().then(() => t.run(m.bytes)).catch((e: unknown) => outcome(e, undefined, 'escaped the reader: '));
    const ms = performance.now() - start;
    cases++;
    s.cases++;
    s.totalMs += ms;
    s.maxMs = Math.max(s.maxMs, ms);
    const mem = process.memoryUsage();
    peakRss = Math.max(peakRss, mem.rss);
    peakArrayBuffers = Math.max(peakArrayBuffers, mem.arrayBuffers);
    if (o.bad) failures.push({ reader: t.reader, fixture: t.fixture, case: i, mutation: m.what, why: o.bad, message: o.message ?? '' });
    else if (o.refused !== undefined) {
      s.refused++;
      if (process.env.FUZZ_MESSAGES) console.error(`${t.reader}\t${o.refused.replace(dir, '').replace(/\d+/g, 'N')}`);
    }
    else s.loaded++;
  }
}
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({
  seed, cases, seconds: +((performance.now() - t0) / 1000).toFixed(2), cpuSeconds: +(process.cpuUsage().user / 1e6).toFixed(2), stats, failures,
  rssGrowthMB: +((peakRss - rss0) / 2 ** 20).toFixed(1), peakArrayBuffersMB: +(peakArrayBuffers / 2 ** 20).toFixed(1),
}));
