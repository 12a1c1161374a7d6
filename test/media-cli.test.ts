/** `bgpt data …` and `bgpt gallery` end to end (in process): files written, one-line errors. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { registerData } from '../src/cli/data.js';
import { registerGallery } from '../src/cli/gallery.js';
import { readBmpHeader } from '../src/data/media/bmp.js';
import { encodePng } from '../src/data/media/image.js';
import { midiNotes } from '../src/data/media/midi.js';
import { encodeWav, readWavInfo } from '../src/data/media/wav.js';
import { buildGallery } from '../src/tasks/gallery.js';
import { escapeHtml } from '../src/util/html.js';

async function bgpt(...args: string[]): Promise<string> {
  const p = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerData(p);
  registerGallery(p);
  const lines: string[] = [], log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    await p.parseAsync(['node', 'bgpt', ...args]);
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

const tmp = () => mkdtempSync(join(tmpdir(), 'bgpt-media-cli-'));

describe('bgpt data image / audio', () => {
  it('converts a folder, keeping its structure, to 32×32 BMP and 8 kHz WAV', async () => {
    const src = tmp(), out = tmp();
    mkdirSync(join(src, 'cat'));
    const rgb = new Uint8Array(50 * 20 * 3).fill(90);
    writeFileSync(join(src, 'cat', 'a.png'), await encodePng({ width: 50, height: 20, rgb }));
    writeFileSync(join(src, 'b.wav'), encodeWav(new Float32Array(22050).fill(0.25), { sampleRate: 22050, channels: 1, bits: 16 }));
    const r1 = await bgpt('data', 'image', join(src, 'cat'), '--out', join(out, 'img'));
    assert.match(r1, /wrote 1 32×32 BMP files/);
    const bmp = readFileSync(join(out, 'img', 'a.bmp'));
    assert.equal(bmp.length, 3126);
    assert.equal(readBmpHeader(bmp).width, 32);
    await bgpt('data', 'image', src, '--out', join(out, 'img2'), '--size', '8', '--skip-errors');
    assert.equal(readFileSync(join(out, 'img2', 'cat', 'a.bmp')).length, 54 + 24 * 8);
    await bgpt('data', 'audio', join(src, 'b.wav'), '--out', join(out, 'snd'));
    const wav = readFileSync(join(out, 'snd', 'b.wav'));
    assert.equal(wav.length, 8044);
    assert.equal(readWavInfo(wav).sampleRate, 8000);
  });

  it('stops at a file it cannot read, naming it, unless told to skip', async () => {
    const src = tmp(), out = tmp();
    writeFileSync(join(src, 'notes.txt'), 'not a picture');
    await assert.rejects(bgpt('data', 'image', src, '--out', out), (e: Error) => e.message.includes('notes.txt: cannot decode image') && !e.message.includes('\n'));
    await assert.rejects(bgpt('data', 'image', src, '--out', out, '--size', '0'), /--size must be a whole number ≥ 1/);
    await assert.rejects(bgpt('data', 'audio', join(src, 'nope.wav'), '--out', out), /nope\.wav: no such file or folder/);
    await assert.rejects(bgpt('data', 'audio', src, '--out', out, '--bits', '12'), /--bits must be 8 or 16/);
  });
});

describe('bgpt data abc2midi / tunes / midi-match', () => {
  it('writes name.abc + name.mid pairs that parse as MIDI', async () => {
    const d = tmp();
    await bgpt('data', 'tunes', '--out', join(d, 'book.abc'), '--count', '6', '--seed', '2');
    const r = await bgpt('data', 'abc2midi', join(d, 'book.abc'), '--out', join(d, 'pairs'));
    assert.match(r, /wrote 6 ABC\/MIDI pairs/);
    const names = readdirSync(join(d, 'pairs')).sort();
    assert.equal(names.length, 12);
    assert.deepEqual(names.slice(0, 2), ['book-1.abc', 'book-1.mid']);
    for (const n of names.filter((x) => x.endsWith('.mid'))) assert.ok(midiNotes(readFileSync(join(d, 'pairs', n))).notes.length > 0);
    assert.match(readFileSync(join(d, 'pairs', 'book-1.abc'), 'utf8'), /^X:1\nT:/);
    // the references match themselves; a damaged copy does not parse
    mkdirSync(join(d, 'conv'));
    writeFileSync(join(d, 'conv', 'book-1.mid'), readFileSync(join(d, 'pairs', 'book-1.mid')));
    writeFileSync(join(d, 'conv', 'book-2.mid'), readFileSync(join(d, 'pairs', 'book-2.mid')).subarray(0, 40));
    const m = JSON.parse(await bgpt('data', 'midi-match', join(d, 'conv'), join(d, 'pairs'), '--json'));
    assert.deepEqual([m.files, m.parses, m.notes_match, m.bytes_equal], [2, 0.5, 0.5, 0.5]);
  });

  it('names a tune it cannot convert', async () => {
    const d = tmp();
    writeFileSync(join(d, 'x.abc'), 'X:1\nT:Silence\nK:C\nz4|]\n');
    await assert.rejects(bgpt('data', 'abc2midi', join(d, 'x.abc'), '--out', join(d, 'o')), /x\.abc: tune 1 \("Silence"\): no notes/);
    const r = await bgpt('data', 'abc2midi', join(d, 'x.abc'), '--out', join(d, 'o'), '--skip-errors');
    assert.match(r, /wrote 0 ABC\/MIDI pairs/);
  });
});

describe('bgpt data classes', () => {
  it('turns generated class folders into Label_N files, split into train and test', async () => {
    const d = tmp();
    await bgpt('data', 'text', '--out', join(d, 'topics'), '--count', '5');
    const r = await bgpt('data', 'classes', join(d, 'topics'), '--out', join(d, 'cls'), '--test-share', '0.2');
    assert.match(r, /wrote 20 files of 4 classes .* \(4 in test\/\): Business 5, SciTech 5, Sports 5, World 5/);
    assert.ok(existsSync(join(d, 'cls', 'train', 'World_1.txt')) || existsSync(join(d, 'cls', 'test', 'World_1.txt')));
    await assert.rejects(bgpt('data', 'classes', join(d, 'topics'), '--out', join(d, 'cls')), /cls: not empty/);
  });
});

describe('bgpt gallery', () => {
  it('shows images, audio, MIDI, ABC and text side by side in one page', async () => {
    const d = tmp(), a = join(d, 'ref'), b = join(d, 'gen');
    mkdirSync(a);
    mkdirSync(b);
    await bgpt('data', 'tunes', '--out', join(d, 't.abc'), '--count', '1');
    await bgpt('data', 'abc2midi', join(d, 't.abc'), '--out', a);
    writeFileSync(join(b, 't.mid'), readFileSync(join(a, 't.mid')));
    const rgb = new Uint8Array(4 * 4 * 3).fill(200);
    const { encodeBmp } = await import('../src/data/media/bmp.js');
    writeFileSync(join(b, 'img.bmp'), encodeBmp({ width: 4, height: 4, rgb }).subarray(0, 60)); // cut short
    writeFileSync(join(b, 'snd.wav'), encodeWav(new Float32Array(800), { sampleRate: 8000, channels: 1, bits: 8 }));
    writeFileSync(join(b, '<odd> name.txt'), 'a & b');
    writeFileSync(join(b, 'blob.bin'), Uint8Array.from([0, 1, 2, 255]));
    const r = buildGallery({ dirs: [a, b], out: join(d, 'g.html') });
    const h = r.html;
    assert.match(h, /<img src="data:image\/bmp;base64,/);
    assert.match(h, /header repaired/);
    assert.match(h, /<audio controls preload="none" src="data:audio\/wav;base64,/);
    assert.match(h, /<svg[^>]*>.*<rect/s);
    assert.match(h, /same notes as the first column/);
    assert.match(h, /<pre>X:1\nT:/);
    assert.ok(h.includes(escapeHtml('<odd> name')) && h.includes('a &amp; b') && !h.includes('<odd>'));
    assert.match(h, /<pre>00 01 02 ff<\/pre>/);
    assert.equal(r.repaired, 1);
    // the command writes the page, by default inside the first folder; --link refers to the files instead
    const out = await bgpt('gallery', b);
    assert.match(out, /gallery\.html: 5 rows, 5 files \(1 BMP\/WAV headers repaired/);
    await bgpt('gallery', a, b, '--out', join(d, 'linked.html'), '--link');
    assert.match(readFileSync(join(d, 'linked.html'), 'utf8'), /src="gen\/snd\.wav"/);
  });
});
