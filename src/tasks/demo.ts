/**
 * The built-in example: generate a small corpus, train a tiny bGPT on it with the real trainer for a time
 * budget, and show the result — for next-byte prediction, held-out bits per byte against a unigram byte model
 * and the 8 bits of raw bytes; for classification, held-out accuracy at telling four kinds of text apart.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kernels } from '../backend/types.js';
import type { ModelKind } from '../model/task.js';
import { listFiles } from '../data/files.js';
import { extensionOf, filePatches, truncate } from '../data/patches.js';
import { TEXT_KINDS, sensorLog } from '../data/synthetic.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { BgptModel } from '../model/bgpt.js';
import { VOCAB, defaultHeads, type BgptConfig } from '../model/config.js';
import { Rng } from '../util/rng.js';
import { evaluateFiles, readInput } from './eval.js';
import { lastPath, train, type TrainHooks } from './train.js';

export interface DemoOptions {
  task: ModelKind;
  out: string;
  seconds: number;
  seed: number;
  /** Patch sampling: predict only this many patches per step (0 = all). */
  sample: number;
  hooks: TrainHooks;
}

export type DemoResult =
  | { task: 'generative'; steps: number; firstLoss: number; lastLoss: number; evalBpb: number; unigramBpb: number; modelPath: string; evalDir: string }
  | { task: 'classification'; steps: number; firstLoss: number; lastLoss: number; accuracy: number; labels: string[]; modelPath: string; evalDir: string };

export const DEMO_CONFIG: BgptConfig = { patchSize: 8, patchLength: 64, hidden: 64, patchLayers: 2, byteLayers: 1, heads: defaultHeads(64) };

function writeCorpus(task: ModelKind, dir: string, n: number, rng: Rng): void {
  mkdirSync(dir, { recursive: true });
  const kinds = Object.entries(TEXT_KINDS);
  for (let i = 0; i < n; i++) {
    const name = String(i).padStart(4, '0');
    if (task === 'generative') writeFileSync(join(dir, `sensor-${name}.log`), sensorLog(rng, 4 + rng.int(8)));
    else {
      const [label, make] = kinds[i % kinds.length];
      writeFileSync(join(dir, `${label}_${name}.txt`), make(rng));
    }
  }
}

/** Bits per predicted token of a smoothed unigram model of the training targets, on the eval targets. */
function unigramBpb(train: Int32Array[], evalSeqs: Int32Array[], S: number): number {
  const counts = new Float64Array(VOCAB).fill(1); // add-one smoothing
  for (const s of train) for (let i = S; i < s.length; i++) counts[s[i]]++;
  const total = counts.reduce((a, b) => a + b, 0);
  let bits = 0, n = 0;
  for (const s of evalSeqs) {
    for (let i = S; i < s.length; i++) {
      bits -= Math.log2(counts[s[i]] / total);
      n++;
    }
  }
  return bits / n;
}

export async function runDemo(k: Kernels, o: DemoOptions): Promise<DemoResult> {
  const rng = new Rng(o.seed), cfg = DEMO_CONFIG, S = cfg.patchSize, L = cfg.patchLength;
  const trainDir = join(o.out, 'train'), evalDir = join(o.out, 'eval'), modelPath = join(o.out, 'model.safetensors');
  writeCorpus(o.task, trainDir, 600, rng);
  writeCorpus(o.task, evalDir, 40, rng);
  let firstLoss = NaN, lastLoss = NaN, accuracy = NaN;
  const r = await train(k, {
    task: o.task, train: [trainDir], eval: [evalDir], evalSplit: 0, model: cfg, batchSize: 8, accumulation: 1,
    epochs: 1000, lr: 2e-3, warmup: 0.001, weightDecay: 0.01, patchSampling: o.sample, dropout: 0, evalEvery: 0,
    seed: o.seed, out: modelPath, maxSeconds: o.seconds,
  }, {
    ...o.hooks,
    log: (rec) => {
      if (rec.type === 'step') {
        if (Number.isNaN(firstLoss)) firstLoss = rec.loss;
        lastLoss = rec.loss;
      }
      if (rec.type === 'eval' && rec.accuracy !== undefined) accuracy = rec.accuracy;
      o.hooks.log(rec);
    },
  });
  // score the model as it stands at the end of the budget
  const ck = loadCheckpoint(lastPath(modelPath), { optimizer: false });
  if (o.task === 'classification') {
    return { task: 'classification', steps: r.steps, firstLoss, lastLoss, accuracy, labels: r.labels, modelPath: lastPath(modelPath), evalDir };
  }
  const model = new BgptModel(k, ck.config, { params: ck.params });
  const seqOf = (p: string) => truncate(filePatches(readInput(p), extensionOf(p), S), S, L, 'head');
  const evalFiles = listFiles([evalDir]);
  const ev = evaluateFiles(model, evalFiles);
  const uni = unigramBpb(listFiles([trainDir]).map(seqOf), evalFiles.map(seqOf), S);
  return { task: 'generative', steps: r.steps, firstLoss, lastLoss, evalBpb: ev.bpb, unigramBpb: uni, modelPath: lastPath(modelPath), evalDir };
}
