/** Class folders → Label_N.ext files that the classifier's label parser maps back to the classes. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { labelFromName, labelledExamples } from '../src/data/dataset.js';
import { classLabel, planClasses, writeClasses } from '../src/data/media/classes.js';
import { Rng } from '../src/util/rng.js';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'bgpt-classes-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

describe('class folders → Label_N.ext', () => {
  const src = tree({
    'Sports/b.txt': 'b', 'Sports/a.txt': 'a', 'Sports/deeper/c.txt': 'c', 'Sports/.hidden': 'x',
    'World/x.txt': 'x', 'Sci_Tech/1.txt': '1', 'Sci_Tech/2.txt': '2', 'README.md': 'not a class',
  });

  it('numbers each class from 1 in sorted order and keeps extensions', () => {
    const plan = planClasses(src);
    assert.deepEqual(plan.map((f) => [f.from.slice(src.length + 1), f.to]), [
      ['Sci_Tech/1.txt', 'Sci-Tech_1.txt'], ['Sci_Tech/2.txt', 'Sci-Tech_2.txt'],
      ['Sports/a.txt', 'Sports_1.txt'], ['Sports/b.txt', 'Sports_2.txt'], ['Sports/deeper/c.txt', 'Sports_3.txt'],
      ['World/x.txt', 'World_1.txt'],
    ]);
  });

  it('gives names that the classifier maps back to one label per class', () => {
    const out = mkdtempSync(join(tmpdir(), 'bgpt-classes-out-'));
    writeClasses(planClasses(src), out);
    const names = readdirSync(out).sort();
    assert.deepEqual(names.map(labelFromName), ['Sci-Tech.txt', 'Sci-Tech.txt', 'Sports.txt', 'Sports.txt', 'Sports.txt', 'World.txt']);
    assert.equal(readFileSync(join(out, 'Sports_3.txt'), 'utf8'), 'c');
    const { labels } = labelledExamples([out], false);
    assert.deepEqual(labels, ['Sci-Tech.txt', 'Sports.txt', 'World.txt']);
  });

  it('replaces the characters that would cut a label short', () => {
    assert.equal(classLabel('a_b_c'), 'a-b-c');
    assert.equal(classLabel('plain'), 'plain');
  });

  it('splits each class into train/ and test/ by a seeded share', () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 10; i++) many[`cat/${i}.bmp`] = String(i);
    for (let i = 0; i < 4; i++) many[`dog/${i}.bmp`] = String(i);
    many['eel/only.bmp'] = 'x';
    const s = tree(many);
    const plan = planClasses(s, { testShare: 0.3, rng: new Rng(1) });
    const count = (dir: string, label: string) => plan.filter((f) => f.to.startsWith(`${dir}/`) && f.label === label).length;
    assert.deepEqual([count('test', 'cat'), count('train', 'cat'), count('test', 'dog'), count('train', 'dog'), count('test', 'eel'), count('train', 'eel')], [3, 7, 1, 3, 0, 1]);
    assert.deepEqual(planClasses(s, { testShare: 0.3, rng: new Rng(1) }), plan, 'same seed, same split');
    assert.ok(plan.every((f) => /^(train|test)\/(cat|dog|eel)_\d+\.bmp$/.test(f.to)));
  });

  it('names the problem when there are no classes or two folders clash', () => {
    assert.throws(() => planClasses(join(src, 'World')), /no class folders/);
    assert.throws(() => planClasses(join(src, 'missing')), /missing: no such folder/);
    const clash = tree({ 'a_b/1.txt': '1', 'a-b/1.txt': '1' });
    assert.throws(() => planClasses(clash), /both become label "a-b"/);
  });
});
