/**
 * The built-in example: generate a small corpus of structured log files, train a tiny bGPT on it for a time
 * budget, and score held-out files against a unigram byte model and the 8 bits of raw bytes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kernels } from '../backend/types.js';
import { collate, extensionOf, filePatches, truncate } from '../data/patches.js';
import { sensorLog } from '../data/synthetic.js';
import { saveWeights } from '../io/weights.js';
import { BgptModel } from '../model/bgpt.js';
import { defaultHeads, type BgptConfig } from '../model/config.js';
import { AdamW } from '../optim/adamw.js';
import { Rng } from '../util/rng.js';
import { evaluateFiles, readInput } from './eval.js';

export interface DemoOptions {
  out: string;
  seconds: number;
  seed: number;
  trainFiles: number;
  /** Patch sampling: predict only this many patches per step (0 = all). */
  sample: number;
  evalFiles: number;
  log: (line: string) => void;
  progress: (text: string) => void;
}

export interface DemoResult {
  steps: number;
  firstLoss: number;
  lastLoss: number;
  evalBpb: number;
  unigramBpb: number;
  modelPath: string;
  evalDir: string;
}

export const DEMO_CONFIG: BgptConfig = { patchSize: 8, patchLength: 64, hidden: 64, patchLayers: 2, byteLayers: 1, heads: defaultHeads(64) };

function writeCorpus(dir: string, n: number, rng: Rng): string[] {
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(dir, `sensor-${String(i).padStart(4, '0')}.log`);
    writeFileSync(p, sensorLog(rng, 4 + rng.int(8)));
    paths.push(p);
  }
  return paths;
}

/** Bits per predicted token of a smoothed unigram model of the training targets, on the eval targets. */
function unigramBpb(train: Int32Array[], evalSeqs: Int32Array[], S: number): number {
  const counts = new Float64Array(257).fill(1); // add-one smoothing
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

export function runDemo(k: Kernels, o: DemoOptions): DemoResult {
  const rng = new Rng(o.seed), cfg = DEMO_CONFIG, S = cfg.patchSize, L = cfg.patchLength;
  const trainPaths = writeCorpus(join(o.out, 'train'), o.trainFiles, rng);
  const evalPaths = writeCorpus(join(o.out, 'eval'), o.evalFiles, rng);
  const seqOf = (p: string) => truncate(filePatches(readInput(p), extensionOf(p), S), S, L, 'head');
  const train = trainPaths.map(seqOf);
  o.log(`corpus: ${trainPaths.length} training and ${evalPaths.length} held-out log files in ${o.out}`);

  const model = new BgptModel(k, cfg, { rng, grad: true });
  o.log(`model: ${model.layout.count().toLocaleString('en-US')} parameters (hidden ${cfg.hidden}, ${cfg.patchLayers}+${cfg.byteLayers} layers, patch ${S}), ${k.name} backend, ${k.threads()} thread(s)${o.sample ? `, ${o.sample} patches sampled per step` : ''}`);
  const opt = new AdamW(k, model.layout.size, { lr: 2e-3 });
  const batchSize = 8, warmup = 30, t0 = performance.now();
  let step = 0, firstLoss = NaN, lastLoss = NaN, ema = NaN, bytes = 0, lastLog = 0;
  const order = [...train.keys()];
  while ((performance.now() - t0) / 1000 < o.seconds) {
    if (step % Math.floor(train.length / batchSize) === 0) rng.shuffle(order);
    const start = (step * batchSize) % (order.length - batchSize + 1);
    const seqs = order.slice(start, start + batchSize).map((i) => train[i]);
    const batch = collate(seqs, S);
    model.zeroGrad();
    const { loss } = model.forward(batch, { grad: true, sample: o.sample, rng });
    if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${step} (loss ${loss})`);
    model.backward();
    opt.update(model.params.data, model.params.grad!, 2e-3 * Math.min(1, (step + 1) / warmup));
    step++;
    bytes += seqs.reduce((a, s) => a + s.length, 0);
    if (step === 1) firstLoss = loss;
    lastLoss = loss;
    ema = Number.isNaN(ema) ? loss : 0.9 * ema + 0.1 * loss;
    const el = (performance.now() - t0) / 1000;
    o.progress(`step ${step}  loss ${ema.toFixed(3)} (${(ema / Math.LN2).toFixed(2)} bits/byte)  ${Math.round(bytes / el)} bytes/s  ${Math.max(0, o.seconds - el).toFixed(0)} s left`);
    if (el - lastLog >= 10) {
      lastLog = el;
      o.log(`  ${el.toFixed(0).padStart(3)} s  step ${String(step).padStart(5)}  loss ${ema.toFixed(3)}  (${(ema / Math.LN2).toFixed(2)} bits/byte)`);
    }
  }
  const modelPath = join(o.out, 'model.safetensors');
  saveWeights(modelPath, model.layout, model.params.data, { format: 'pt', task: 'generative' });
  const ev = evaluateFiles(model, evalPaths);
  const uni = unigramBpb(train, evalPaths.map(seqOf), S);
  return { steps: step, firstLoss, lastLoss, evalBpb: ev.bpb, unigramBpb: uni, modelPath, evalDir: join(o.out, 'eval') };
}
