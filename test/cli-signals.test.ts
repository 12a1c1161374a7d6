/**
 * `bgpt compress`, `decompress` and `generate` stopped mid-run by SIGINT, SIGTERM or SIGKILL (the shipped base
 * model and real files of this repository; generation with a model that never ends a file): the process ends at once, its inputs are untouched, nothing is
 * left half-written, and what finished before the signal is whole. Outputs are written only once computed,
 * to a temporary sibling renamed over the target (util/atomic.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/index.js';
import { saveWeights } from '../src/io/weights.js';
import { BgptModel } from '../src/model/bgpt.js';
import { BYTE_PREFIX } from '../src/model/params.js';
import { Rng } from '../src/util/rng.js';
import { bgpt, start, tmp, until } from './cli-run.js';
import { ROOT } from './helpers.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGKILL'] as const;

/** A folder with a small real file and a larger one (this repository's docs: seconds to compress). */
function files(): { d: string; small: string; large: string } {
  const d = tmp('signals'), small = join(d, 'a.md'), large = join(d, 'b.md');
  writeFileSync(small, readFileSync(join(ROOT, 'docs', 'serving.md')).subarray(0, 2000));
  writeFileSync(large, Buffer.concat(['README.md', 'docs/base-model.md'].map((f) => readFileSync(join(ROOT, f)))));
  return { d, small, large };
}

describe('signals mid-run leave whole files or none', () => {
  for (const signal of SIGNALS) {
    it(`bgpt compress: ${signal} while the second file is coded: the first .bgpz is whole, the second absent`, async () => {
      const { d, small, large } = files();
      const before = readFileSync(large);
      const { child, exited } = start('compress', small, large);
      await until(() => existsSync(`${small}.bgpz`), 'the first file compressed');
      await new Promise((r) => setTimeout(r, 300));
      child.kill(signal);
      const r = await exited;
      assert.equal(r.code, null, `killed by ${signal}, not exited: ${r.err}`);
      assert.deepEqual(readdirSync(d).sort(), ['a.md', 'a.md.bgpz', 'b.md'], 'no partial or temporary file');
      assert.deepEqual(readFileSync(large), before, 'the input is untouched');
      const back = join(d, 'back');
      const x = bgpt('decompress', `${small}.bgpz`, '--out', back);
      assert.equal(x.code, 0, x.err);
      assert.deepEqual(readFileSync(join(back, 'a.md')), readFileSync(small));
    });
  }

  it('bgpt decompress: SIGTERM mid-file leaves no output and the .bgpz untouched', async () => {
    const { d, small } = files();
    writeFileSync(small, readFileSync(join(ROOT, 'README.md')).subarray(0, 8000));
    assert.equal(bgpt('compress', small).code, 0);
    const packed = readFileSync(`${small}.bgpz`), out = join(d, 'out');
    const { child, exited } = start('decompress', `${small}.bgpz`, '--out', out);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(child.exitCode, null, 'still decoding');
    child.kill('SIGTERM');
    assert.equal((await exited).code, null);
    assert.deepEqual(existsSync(out) ? readdirSync(out) : [], []);
    assert.deepEqual(readFileSync(`${small}.bgpz`), packed);
  });

  it('bgpt generate: SIGINT while decoding leaves the output folder without partial files', async () => {
    const d = tmp('signals-gen'), out = join(d, 'gen'), weights = join(d, 'endless.safetensors');
    // random weights whose end-of-patch logit is far below every byte's: the files never end by themselves
    const m = new BgptModel(tsKernels, { patchSize: 8, patchLength: 64, hidden: 64, patchLayers: 2, byteLayers: 1, heads: 2 }, { rng: new Rng(3) });
    m.params.w(`${BYTE_PREFIX}ln_f.bias`).fill(1);
    m.params.w(`${BYTE_PREFIX}wte.weight`).subarray(256 * 64).fill(-1);
    saveWeights(weights, m.layout, m.params.data);
    const { child, exited } = start('generate', '--model', weights, '--ext', 'txt', '-n', '2', '--max-bytes', '1000000', '--slide', '--out', out);
    // the folder is made once the model is loaded, just before decoding starts
    await until(() => existsSync(out), 'the output folder');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(child.exitCode, null, 'still decoding');
    child.kill('SIGINT');
    assert.equal((await exited).code, null);
    assert.deepEqual(readdirSync(out), []);
  });
});
