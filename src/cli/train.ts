/** `bgpt train`: train a generative, conversion or classification model on folders of files. */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { getKernels } from '../backend/index.js';
import { parseConversion } from '../data/dataset.js';
import type { Truncation } from '../data/patches.js';
import { defaultHeads, validateConfig } from '../model/config.js';
import { lastPath, train, type TrainOptions } from '../tasks/train.js';
import { bf16Check, loadModel, num, taskFlag } from './options.js';

/** Every setting, as flag name → [default, description]; `--config file.json` may set the same names. */
const SETTINGS: Record<string, [string | undefined, string]> = {
  'hidden': ['768', 'hidden size H'],
  'patch-layers': ['12', 'patch-level decoder layers'],
  'byte-layers': ['3', 'byte-level decoder layers'],
  'patch-size': ['16', 'bytes per patch S'],
  'patch-length': ['512', 'patches per sequence L'],
  'batch-size': ['8', 'files per batch'],
  'accumulation': ['1', 'batches per optimizer step (gradient accumulation)'],
  'epochs': ['32', 'passes over the training files'],
  'steps': ['0', 'optimizer steps the schedule spans, in place of --epochs (0 = by epochs)'],
  'lr': ['1e-5', 'peak learning rate (AdamW)'],
  'warmup': ['0.1', 'fraction of all steps for the linear warm-up'],
  'weight-decay': ['0.01', 'AdamW weight decay'],
  'patch-sampling': ['0', 'predict only k random patches per batch (0 = all)'],
  'dropout': ['0.1', 'GPT-2 dropout while training (0 = off, exactly reproducible)'],
  'eval-every': ['0', 'also evaluate every N optimizer steps (0 = once per epoch)'],
  'eval-split': ['0.01', 'held-out fraction when no --eval folders are given'],
  'seed': ['0', 'random seed (the run is reproducible from it)'],
  'max-steps': ['0', 'stop after N optimizer steps in this run (0 = no limit)'],
  'max-time': ['0', 'stop after this many seconds in this run, evaluating and saving first (0 = no limit)'],
  'crop': ['random', 'which L patches of a longer training file: random (head, body or tail, as the reference), head, or ends (its head and tail: what a detector reads)'],
  'precision': ['fp32', 'matrix products in fp32, or bf16 with fp32 sums, fp32 master weights and AdamW (needs avx512_bf16 or AMX)'],
};
const MODEL_FLAGS = ['hidden', 'patch-layers', 'byte-layers', 'patch-size', 'patch-length'];

function cropOf(v: string): Truncation {
  if (v !== 'random' && v !== 'head' && v !== 'ends') throw new Error(`--crop must be random, head or ends, not "${v}"`);
  return v;
}

const camel = (s: string) => s.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

export function registerTrain(program: Command): void {
  const c = program
    .command('train')
    .description('train a model on folders of files (generative, conversion pairs or classification)')
    .requiredOption('--train <dirs...>', 'training folders (or files)')
    .requiredOption('--out <checkpoint>', 'where the best checkpoint goes (the last state goes beside it as .last)')
    .option('--task <task>', 'gen (next-byte prediction) or cls (classification)', 'gen')
    .option('--convert <mode>', 'conversion pairs: "a->b" one way or "a&b" both ways (files with the same name)')
    .option('--labels-from-folders', 'classification: each subfolder of a training folder is a class')
    .option('--eval <dirs...>', 'evaluation folders (default: a random part of the training files)')
    .option('--init <checkpoint>', 'start from this checkpoint (a classifier takes its patch-level decoder)')
    .option('--resume', 'continue the run saved beside --out exactly where it stopped')
    .option('--keep-epochs', 'also keep the state at the end of every epoch as <out>.epoch-N.safetensors')
    .option('--config <file.json>', 'settings as JSON, with the flag names as keys')
    .option('--log <file>', 'JSON-lines log of every step and evaluation (default: <out>.log.jsonl)');
  for (const [name, [, desc]] of Object.entries(SETTINGS)) c.option(`--${name} <v>`, `${desc} (default ${SETTINGS[name][0]})`);
  c.action(async (raw: Record<string, unknown>) => {
    const file = raw.config ? readConfig(String(raw.config)) : {};
    const get = (name: string): string => {
      const v = raw[camel(name)] ?? file[name] ?? SETTINGS[name][0];
      return String(v);
    };
    const explicit = (name: string) => raw[camel(name)] !== undefined || file[name] !== undefined;
    const task = taskFlag(String(raw.task ?? file.task ?? 'gen'));
    const out = String(raw.out);
    let model = {
      hidden: num('--hidden', get('hidden'), { int: true, min: 1 }),
      patchLayers: num('--patch-layers', get('patch-layers'), { int: true, min: 0 }),
      byteLayers: num('--byte-layers', get('byte-layers'), { int: true, min: 0 }),
      patchSize: num('--patch-size', get('patch-size'), { int: true, min: 1 }),
      patchLength: num('--patch-length', get('patch-length'), { int: true, min: 2 }),
      heads: 1,
    };
    model.heads = defaultHeads(model.hidden);
    // --init without size flags takes the checkpoint's size
    if (raw.init && !MODEL_FLAGS.some(explicit)) model = { ...loadModel(String(raw.init)).config };
    if (raw.resume && !MODEL_FLAGS.some(explicit)) model = { ...loadModel(lastPath(out)).config };
    validateConfig(model);
    const o: TrainOptions = {
      task, convert: raw.convert ? parseConversion(String(raw.convert)) : undefined, labelsFromFolders: !!raw.labelsFromFolders,
      train: raw.train as string[], eval: (raw.eval as string[] | undefined) ?? [], evalSplit: num('--eval-split', get('eval-split'), { min: 0, max: 0.5 }),
      model, out,
      batchSize: num('--batch-size', get('batch-size'), { int: true, min: 1 }),
      accumulation: num('--accumulation', get('accumulation'), { int: true, min: 1 }),
      epochs: num('--epochs', get('epochs'), { int: true, min: 1 }),
      lr: num('--lr', get('lr'), { min: 0 }),
      warmup: num('--warmup', get('warmup'), { min: 0, max: 1 }),
      weightDecay: num('--weight-decay', get('weight-decay'), { min: 0 }),
      patchSampling: num('--patch-sampling', get('patch-sampling'), { int: true, min: 0 }),
      dropout: num('--dropout', get('dropout'), { min: 0, max: 0.9 }),
      evalEvery: num('--eval-every', get('eval-every'), { int: true, min: 0 }),
      seed: num('--seed', get('seed'), { int: true, min: 0 }),
      steps: num('--steps', get('steps'), { int: true, min: 0 }),
      maxSteps: num('--max-steps', get('max-steps'), { int: true, min: 0 }),
      maxSeconds: num('--max-time', get('max-time'), { min: 0 }),
      init: raw.init ? String(raw.init) : undefined,
      resume: !!raw.resume,
      keepEpochs: !!(raw.keepEpochs ?? file['keep-epochs']),
      crop: cropOf(get('crop')),
    };
    const precision = get('precision');
    if (precision !== 'fp32' && precision !== 'bf16') throw new Error(`--precision "${precision}" is not supported for training; supported: fp32, bf16`);
    if (precision === 'bf16') {
      console.log(`precision: ${bf16Check()}`);
      o.precision = 'bf16';
    }
    if (task === 'classification' && o.convert) throw new Error('--convert is for generative training, not --task cls');
    const logPath = raw.log ? String(raw.log) : `${out}.log.jsonl`;
    mkdirSync(dirname(out), { recursive: true });
    mkdirSync(dirname(logPath), { recursive: true });
    if (!o.resume) writeFileSync(logPath, '');
    // Ctrl-C (SIGINT) and SIGTERM (a service manager, a container stop) save the state and stop cleanly
    let stop = false;
    const onSignal = () => {
      if (stop) process.exit(130);
      stop = true;
      process.stderr.write('\nbgpt: stopping after this step and saving (Ctrl-C again to quit at once)\n');
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const bar = process.stderr.isTTY
      ? new cliProgress.SingleBar({ format: 'epoch {epoch} |{bar}| {value}/{total} steps | loss {loss} | {rate} bytes/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 }, cliProgress.Presets.shades_classic)
      : null;
    let started = false, lastPrint = 0;
    const t0 = Date.now();
    const r = await train(getKernels(), o, {
      log: (rec) => {
        appendFileSync(logPath, `${JSON.stringify(rec)}\n`);
        if (rec.type === 'eval') {
          const line = `eval at step ${rec.step} (epoch ${rec.epoch}): loss ${rec.loss.toFixed(4)}${rec.bpb !== undefined ? ` (${rec.bpb.toFixed(3)} bits/byte)` : ''}${rec.accuracy !== undefined ? ` accuracy ${(rec.accuracy * 100).toFixed(2)}%` : ''}${rec.best ? ' — best so far, saved' : ''}`;
          if (bar) {
            bar.stop();
            started = false;
          }
          console.log(line);
        } else if (rec.type === 'info') console.log(`training: ${JSON.stringify(rec)}`);
      },
      progress: (p) => {
        const payload = { loss: p.loss.toFixed(4), rate: Math.round(p.bytesPerS), epoch: p.epoch + 1 };
        if (bar) {
          if (!started) {
            bar.start(p.total, p.step, payload);
            started = true;
          }
          bar.update(p.step, payload);
        } else if (Date.now() - lastPrint > 10000) {
          lastPrint = Date.now();
          console.log(`step ${p.step}/${p.total} epoch ${p.epoch + 1} loss ${p.loss.toFixed(4)} ${Math.round(p.bytesPerS)} bytes/s ETA ${Math.round(p.etaS)} s`);
        }
      },
      interrupted: () => stop,
    });
    bar?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    console.log(`${r.stopped === 'interrupted' ? 'interrupted' : 'finished'} after ${r.steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s; ${existsSync(out) ? `best checkpoint ${out}` : `no held-out evaluation ran, so no best checkpoint (use --eval-every)`}, last state ${lastPath(out)}, log ${logPath}`);
    if (r.stopped === 'interrupted') process.exitCode = 130;
  });
}

function readConfig(path: string): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(e as Error).message})`}`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new Error(`${path}: expected a JSON object of settings`);
  const known = new Set([...Object.keys(SETTINGS), 'task']);
  for (const k of Object.keys(j)) if (!known.has(k)) throw new Error(`${path}: unknown setting "${k}"`);
  return j as Record<string, unknown>;
}
