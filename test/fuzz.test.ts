/**
 * Every reader against seeded random damage (test/fuzz-readers.ts): .pth archives and the pickles inside them,
 * plain safetensors, bgpt checkpoints (bytes and header values), BMP, WAV, MIDI and CPU states files. Each
 * case loads or is refused with the project's clean one-line error; no case may take more than 2 s, and the
 * process may not grow by more than 256 MiB (the fixtures are a few kB: an allocation sized by a length
 * field would show). The fuzzer runs in a child process so that a hang fails here as a timeout.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeBmp, repairBmp } from '../src/data/media/bmp.js';
import { loadModelFile, tsKernels } from '../src/index.js';

const FUZZER = join(dirname(fileURLToPath(import.meta.url)), 'fuzz-readers.ts');
const CASES_PER_FIXTURE = 250, SEED = 20261201;

interface Report {
  cases: number;
  seconds: number;
  stats: Record<string, { cases: number; loaded: number; refused: number; maxMs: number }>;
  failures: { reader: string; fixture: string; case: number; mutation: string; why: string; message: string }[];
  rssGrowthMB: number;
  peakArrayBuffersMB: number;
}

describe('readers under random damage', () => {
  it(`${CASES_PER_FIXTURE} mutations of each of 16 fixtures: loaded or refused cleanly, in bounded time and memory`, () => {
    const progress = join(mkdtempSync(join(tmpdir(), 'bgpt-fuzz-')), 'case');
    const r = spawnSync(process.execPath, ['--import', 'tsx', FUZZER, String(CASES_PER_FIXTURE), String(SEED), progress], { encoding: 'utf8', timeout: 120_000 });
    const at = existsSync(progress) ? readFileSync(progress, 'utf8') : 'before the first case';
    assert.equal(r.status, 0, `the fuzzer did not finish (${r.signal ?? r.status}) at ${at}\n${r.stderr}`);
    const rep = JSON.parse(r.stdout) as Report;
    const list = rep.failures.slice(0, 20).map((f) => `${f.reader} (${f.fixture}) case ${f.case}, ${f.mutation}: ${f.why}: ${JSON.stringify(f.message)}`);
    assert.deepEqual(list, [], `${rep.failures.length} unclean outcomes (seed ${SEED})`);
    assert.ok(rep.cases >= 4000, `${rep.cases} cases`);
    for (const [reader, s] of Object.entries(rep.stats)) {
      // damage that every reader refuses, or that none notices, would test little
      assert.ok(s.refused > 0.05 * s.cases, `${reader}: ${s.refused} of ${s.cases} refused`);
      assert.ok(s.loaded > 0, `${reader}: none loaded`);
      assert.ok(s.maxMs < 2000, `${reader}: a case took ${s.maxMs} ms`);
    }
    assert.ok(rep.rssGrowthMB < 256, `the process grew by ${rep.rssGrowthMB} MiB`);
  });
});

/** What the fuzzer found, kept as regression cases. */
describe('reader regressions', () => {
  it('a 60-byte BMP whose header says 4096×4096 is not padded out to 50 MB for display', () => {
    const b = Buffer.alloc(60);
    b.write('BM', 0);
    b.writeInt32LE(4096, 18);
    b.writeInt32LE(4096, 22);
    assert.equal(repairBmp(b), null);
    const r = repairBmp(b, { width: 5, height: 3 })!;
    assert.equal(r.bytes.length, 54 + 16 * 3, 'the size it was told to use');
  });

  it('a BMP whose width overflows 32-bit arithmetic is refused, not allocated', () => {
    const b = Buffer.alloc(60);
    b.write('BM', 0);
    b.writeUInt32LE(54, 10);
    b.writeUInt32LE(40, 14);
    b.writeInt32LE(0x55555555, 18); // width · 3 + 3 wraps around 2³² to a stride of 0
    b.writeInt32LE(3, 22);
    b.writeUInt16LE(24, 28);
    assert.throws(() => decodeBmp(b), (e: Error) => e.constructor === Error && /BMP of 1431655765×3 needs \d+ bytes, the file has 60/.test(e.message));
    b.writeInt32LE(-7, 18);
    assert.throws(() => decodeBmp(b), /BMP of -7×3 pixels: not a valid image size/);
  });

  it('names with control characters in a damaged archive are shown escaped, on one line', () => {
    // a safetensors file whose tensor name holds a line break (and whose dtype is unknown, so the error names it)
    const json = Buffer.from(JSON.stringify({ 'bad\nname\u0000': { dtype: 'F7', shape: [1], data_offsets: [0, 4] } }));
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(json.length));
    const p = join(mkdtempSync(join(tmpdir(), 'bgpt-fuzz-')), 'names.safetensors');
    writeFileSync(p, Buffer.concat([head, json, Buffer.alloc(4)]));
    assert.throws(() => loadModelFile(tsKernels, p), (e: Error) => !/[\x00-\x1f]/.test(e.message) && e.message.includes('bad\\x0aname\\x00'));
  });
});
