/** ABC → MIDI pairs: tunes split, MIDI files that parse with the right notes, the seeded tune generator. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMidi } from 'midi-file';
import { abcToMidi, abcWarnings, splitTunes } from '../src/data/media/abc.js';
import { compareNotes, midiNotes, repairMidi, type Note } from '../src/data/media/midi.js';
import { abcPitch, randomTune, randomTunebook } from '../src/data/media/synthetic-tunes.js';
import { Rng } from '../src/util/rng.js';

const SCALE = 'X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nC D E F | G A B c |]\n';

describe('ABC → MIDI', () => {
  it('makes a standard MIDI file with the tune\'s notes', () => {
    const mid = abcToMidi(SCALE);
    assert.equal(Buffer.from(mid.subarray(0, 4)).toString('latin1'), 'MThd');
    const raw = parseMidi(mid);
    assert.equal(raw.header.ticksPerBeat, 480);
    const s = midiNotes(mid);
    assert.deepEqual(s.notes.map((n) => n.pitch), [60, 62, 64, 65, 67, 69, 71, 72]);
    assert.deepEqual(s.notes.map((n) => n.start), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.ok(s.notes.every((n) => n.duration === 1));
  });

  it('follows the key signature, note lengths and octave marks', () => {
    const n = midiNotes(abcToMidi("X:1\nT:t\nM:3/4\nL:1/8\nK:G\nF2 c4 | C,2 g' z2 |]\n")).notes;
    assert.deepEqual(n.map((x) => [x.pitch, x.start, x.duration]), [[66, 0, 1], [72, 1, 2], [48, 3, 1], [91, 4, 0.5]]);
  });

  it('refuses a tune without notes', () => {
    assert.throws(() => abcToMidi('X:1\nT:Empty\nK:C\nz4 |]\n'), /no notes/);
    assert.equal(abcWarnings(SCALE).length, 0);
    assert.ok(abcWarnings('X:1\nK:C\nC D ### E\n').length > 0);
  });

  it('splits a tunebook at X: fields and blank lines', () => {
    const t = splitTunes(`%abc-2.1\n\nX:1\nT:One\nK:C\nCDE|\n\n\nX:7\r\nT:Two\r\nK:G\r\nGAB|\r\n`);
    assert.deepEqual(t.map((x) => [x.x, x.title]), [['1', 'One'], ['7', 'Two']]);
    assert.equal(t[1].abc, 'X:7\nT:Two\nK:G\nGAB|\n');
    assert.equal(splitTunes('K:C\nCDE|\n').length, 1, 'a text with no X: is one tune');
  });
});

describe('generated tunes', () => {
  it('write every diatonic pitch in ABC octave notation', () => {
    assert.deepEqual([-8, -7, 0, 6, 7, 13, 14].map(abcPitch), ['B,,', 'C,', 'C', 'B', 'c', 'b', "c'"]);
  });

  it('are deterministic in the seed, convert without warnings, and their bars add up', () => {
    assert.equal(randomTunebook(new Rng(3), 5), randomTunebook(new Rng(3), 5));
    assert.notEqual(randomTunebook(new Rng(3), 5), randomTunebook(new Rng(4), 5));
    const rng = new Rng(11);
    for (let i = 1; i <= 40; i++) {
      const abc = randomTune(rng, i);
      assert.deepEqual(abcWarnings(abc), [], abc);
      const notes = midiNotes(abcToMidi(abc)).notes;
      const meter = /M:(\d+)\/(\d+)/.exec(abc)!;
      const barBeats = (4 * Number(meter[1])) / Number(meter[2]);
      const end = Math.max(...notes.map((n) => n.start + n.duration));
      // 8 bars of the meter (a rest at the very end cannot occur: the last note is the tonic)
      assert.ok(Math.abs(end - 8 * barBeats) < 1e-9, `${abc}: ends at beat ${end}, not ${8 * barBeats}`);
    }
  });
});

describe('note comparison', () => {
  const n = (pitch: number, start: number, duration = 1): Note => ({ pitch, channel: 0, start, duration, velocity: 90 });

  it('is exact only for the same notes, ignoring velocity and order', () => {
    const a = [n(60, 0), n(62, 1), n(64, 2)];
    assert.equal(compareNotes(a, [n(64, 2), n(60, 0), { ...n(62, 1), velocity: 30 }]).exact, true);
    const m = compareNotes(a, [n(60, 0), n(62, 1), n(65, 2)]);
    assert.deepEqual([m.exact, m.common, +m.f1.toFixed(4)], [false, 2, 0.6667]);
    assert.equal(compareNotes(a, [...a, n(67, 3)]).exact, false);
  });

  it('repairs chunk lengths that do not fit the events', () => {
    const good = abcToMidi(SCALE);
    const bad = Uint8Array.from(good);
    const v = new DataView(bad.buffer);
    // the second track's length: one byte too many, and the header claiming three tracks
    let off = 14 + 8 + v.getUint32(18);
    v.setUint32(off + 4, v.getUint32(off + 4) + 1);
    v.setUint16(10, 3);
    assert.throws(() => midiNotes(bad), /broken MIDI/);
    assert.deepEqual(repairMidi(bad), good);
    assert.deepEqual(repairMidi(good), good);
    // a track cut before its End of Track cannot be repaired; the tracks before it are kept
    off = 14 + 8 + v.getUint32(18);
    const cut = repairMidi(good.subarray(0, off + 20))!;
    assert.equal(new DataView(cut.buffer).getUint16(10), 1);
    assert.equal(repairMidi(new Uint8Array(10)), null);
  });

  it('rejects non-MIDI bytes', () => {
    assert.throws(() => midiNotes(new TextEncoder().encode('MThd but not really')), /broken MIDI|not a MIDI/);
    assert.throws(() => midiNotes(new Uint8Array(20)), /not a MIDI file/);
  });
});
