/** scripts/ablation.mjs: data made once per data variant, every variant trained, scored on both held-out sets, one row each. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bgpt, tmp } from './cli-run.js';
import { ROOT } from './helpers.js';

const SCRIPT = join(ROOT, 'scripts', 'ablation.mjs');
const run = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', timeout: 300_000 });

const DATA = ['--memory', '16', '--max-program', '3', '--train', '60', '--test', '8'];
const LONGER = ['--memory', '16', '--max-program', '4', '--train', '20', '--test', '4'];
const MODEL = ['--hidden', '32', '--patch-layers', '1', '--byte-layers', '1', '--patch-size', '16', '--patch-length', '8', '--batch-size', '8', '--dropout', '0', '--epochs', '100'];

describe('scripts/ablation.mjs', () => {
  it('trains each variant on shared data and appends one row per run with overall and per-field accuracy', () => {
    const d = tmp('ablation');
    const list = join(d, 'variants.json'), table = join(d, 'tables', 'ablations.md'), work = join(d, 'work');
    writeFileSync(list, JSON.stringify([
      { name: 'steps-4', generate: DATA, train: [...MODEL, '--max-steps', '4'], budget: 60 },
      { name: 'steps-2', generate: DATA, train: [...MODEL, '--max-steps', '2', '--eval-every', '2'], budget: 60 },
      // a curriculum stage: longer programs, starting from the first variant's model
      { name: 'steps-then-longer', generate: LONGER, init: 'steps-4', train: [...MODEL, '--max-steps', '1'], budget: 60 },
    ]));
    const r = run(list, '--work', work, '--tables', join(d, 'tables'));
    assert.equal(r.status, 0, r.stderr);
    // one data folder per data variant, generated once (each: the main set and the second held-out set)
    assert.equal(readdirSync(join(work, 'data')).length, 2);
    assert.equal(r.stderr.match(/\$ bgpt cpu generate/g)?.length, 4);
    const data = readdirSync(join(work, 'data')).find((x) => readdirSync(join(work, 'data', x, 'main', 'train')).length === 60)!;
    const train = new Set(readdirSync(join(work, 'data', data, 'main', 'train')));
    const second = readdirSync(join(work, 'data', data, 'second', 'test'));
    assert.ok(second.length > 0 && second.every((f) => !train.has(f)), 'the second held-out set shares no program with training');

    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    // bgpt train's own output goes to stderr; steps-4 never evaluated, which train says
    assert.match(r.stderr, /finished after 4 steps in \d+ s; no held-out evaluation ran, so no best checkpoint/);
    assert.deepEqual(lines.map((l) => [l.variant, l.steps]), [['steps-4', 4], ['steps-2', 2], ['steps-then-longer', 1]]);
    assert.match(r.stderr, new RegExp(`--init ${join(work, 'runs', 'steps-4', 'model.last.safetensors')}`));
    assert.equal(lines[0].files2, second.length);
    // the figures are those of bgpt cpu evaluate on the model the row names (steps-2 evaluated, so its best checkpoint)
    const best = join(work, 'runs', 'steps-2', 'model.safetensors');
    assert.ok(existsSync(best));
    const direct = JSON.parse(bgpt('cpu', 'evaluate', join(work, 'data', data, 'main', 'test'), '--memory', '16', '--model', best, '--json').out);
    assert.equal(lines[1].accuracy, direct.accuracy);
    assert.equal(lines[1].byField.ACC, direct.byField.ACC.accuracy);

    const md = readFileSync(table, 'utf8');
    assert.match(md, /^# CPU-simulation ablations\n/);
    const rows = md.split('\n').filter((l) => l.startsWith('| steps-'));
    assert.equal(rows.length, 3);
    assert.match(rows[2], /^\| steps-then-longer \| `--memory 16 --max-program 4 [^|]*` \| `--init steps-4 --hidden 32 /);
    const cells = rows[1].split(' | ');
    assert.equal(cells.length, 14);
    assert.equal(cells[1], `\`${DATA.join(' ')}\``);
    assert.equal(cells[4], '2');
    assert.equal(cells[6], `${(100 * direct.accuracy).toFixed(2)} (${direct.files})`);
    assert.equal(cells[12].split(' ').length, 10);

    // a second run appends below the same header; data are not generated again
    const again = run(list, '--work', work, '--tables', join(d, 'tables'), '--only', 'steps-2');
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /cpu generate/);
    const md2 = readFileSync(table, 'utf8');
    assert.equal(md2.match(/^# CPU/gm)?.length, 1);
    assert.equal(md2.split('\n').filter((l) => l.startsWith('| steps-')).length, 4);
  });

  it('abc->mid and mid->abc variants: tunes made into pairs once, conversion models trained, bits per byte and note shares in their own tables', () => {
    const d = tmp('ablation');
    const list = join(d, 'v.json'), work = join(d, 'work');
    const variant = {
      generate: ['--train', '12', '--test', '3', '--bars', '1'], outputs: 2, budget: 60,
      train: ['--hidden', '32', '--patch-layers', '1', '--byte-layers', '1', '--patch-size', '16', '--patch-length', '32', '--batch-size', '4', '--dropout', '0', '--epochs', '2', '--eval-every', '2'],
    };
    writeFileSync(list, JSON.stringify([{ name: 'abc', task: 'abc->mid', ...variant }, { name: 'mid', task: 'mid->abc', ...variant }]));
    const r = run(list, '--work', work, '--tables', join(d, 'tables'));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.match(/\$ bgpt data (tunes|abc2midi)/g)?.length, 6);
    const [j, k] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(k.abc.files, 2);
    assert.equal(k.abc2.files, 2);
    assert.equal(k.perEpoch.length, 2);
    // a table's title and the cells of its last row
    const table = (name: string) => {
      const md = readFileSync(join(d, 'tables', name), 'utf8');
      return { title: md.split('\n')[0], cells: md.trim().split('\n').pop()!.split(' | ') };
    };
    const { title: revTitle, cells: revCells } = table('ablations-mid2abc.md');
    assert.equal(revTitle, '# MIDI → ABC ablations');
    assert.equal(revCells.length, 16);
    assert.equal(revCells[6], k.bpb.toFixed(4));
    assert.match(revCells[8], /^\d+\.\d \(2\)$/);
    assert.match(revCells[14], /^1: [\d.]+\/[\d.]+ · 2: [\d.]+\/[\d.]+$/);
    // 12 pairs in batches of 4: 3 steps per epoch, and each epoch's end state scored
    assert.equal(j.steps, 6);
    assert.equal(j.perEpoch.length, 2);
    const [data] = readdirSync(join(work, 'data'));
    const direct = JSON.parse(bgpt('eval', '--model', join(work, 'runs', 'abc', 'model.safetensors'), '--convert', 'abc->mid', join(work, 'data', data, 'test'), '--json').out);
    assert.equal(j.bpb, direct.bpb);
    assert.equal(j.sourceBpb, direct.source.bpb);
    assert.equal(j.midi.files, 2);
    assert.equal(j.midi2.files, 2);
    assert.equal(readdirSync(join(work, 'data', data, 'second')).length, 6);
    const { title, cells } = table('ablations-abc2midi.md');
    assert.equal(title, '# ABC → MIDI ablations');
    assert.equal(cells.length, 17);
    assert.equal(cells[6], direct.bpb.toFixed(4));
    assert.match(cells[8], /^\d+\.\d \(2\)$/);
    assert.match(cells[15], /^1: [\d.]+\/[\d.]+ \([\d.]+\/[\d.]+\) · 2: [\d.]+\/[\d.]+ \([\d.]+\/[\d.]+\)$/);
    assert.ok(!existsSync(join(d, 'tables', 'ablations.md')));
  });

  it('refuses a bad variant list with one line naming it', () => {
    const d = tmp('ablation');
    const list = join(d, 'v.json');
    writeFileSync(list, JSON.stringify([{ name: 'a', generate: DATA, train: [], budget: 1 }, { name: 'a', generate: DATA, train: [], budget: 1 }]));
    let r = run(list, '--work', join(d, 'w'));
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `ablation: ${list}: variant 2: name "a" is used twice\n`);
    writeFileSync(list, JSON.stringify([{ name: 'a', generate: DATA, train: ['--out', 'x'], budget: 1 }]));
    r = run(list, '--work', join(d, 'w'));
    assert.match(r.stderr, /variant 1 \(a\): "train" must not set --out/);
    writeFileSync(list, JSON.stringify([{ name: 'a', generate: DATA, train: [], budget: 1, init: 'b' }, { name: 'b', generate: DATA, train: [], budget: 1 }]));
    r = run(list, '--work', join(d, 'w'));
    assert.match(r.stderr, /variant 1 \(a\): "init" must name an earlier variant/);
    writeFileSync(list, JSON.stringify([{ name: 'a', task: 'abc->abc', generate: DATA, train: [], budget: 1 }]));
    r = run(list, '--work', join(d, 'w'));
    assert.match(r.stderr, /variant 1 \(a\): "task" must be cpu or abc->mid or mid->abc/);
    assert.ok(!existsSync(join(d, 'w')));
  });
});
