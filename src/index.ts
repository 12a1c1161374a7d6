/**
 * `bgpt`, the library for Node: the task layer over bytes (src/api) with models loaded from paths, URLs or
 * bytes onto the fastest backend here, plus training, checkpoints and the formats. Everything else in src/
 * is internal. `bgpt/web` (src/browser.ts) is the same task layer without Node.
 */
import { getKernels } from './backend/index.js';
import { loadModelFrom, type LoadOptions, type ModelSource } from './api/load.js';
import type { LoadedModel } from './io/weights.js';
import './tasks/compress.js'; // compression on the native exact kernels where they are built

export * from './api/index.js';
export type { LoadOptions, ModelSource } from './api/load.js';

/** The model in a path, a URL, a Blob or bytes, on this process's backend (native where built). */
export function loadModel(source: ModelSource, opts: LoadOptions = {}): Promise<LoadedModel> {
  return loadModelFrom(source, { kernels: getKernels(), ...opts });
}

export { DEFAULT_MODEL } from './io/default-model.js';
export { loadModelFile, saveWeights, type LoadedModel } from './io/weights.js';
export { getKernels, nativeKernels, tsKernels, type Kernels } from './backend/index.js';
export { BgptModel, type Batch, type ForwardOptions, type ForwardResult } from './model/bgpt.js';
export { BgptClassifier } from './model/classifier.js';
export { DEFAULT_CONFIG, EOP, VOCAB, type BgptConfig } from './model/config.js';
export { StreamBatch, type StreamOptions, type StopReason } from './model/streams.js';
export { continueFile, generateFile } from './api/generate.js';
export { extensionOf, filePatches } from './data/patches.js';
export { listFiles } from './data/files.js';
export { evaluateFiles, type EvalResult, type FileScore } from './tasks/eval.js';
export { train, type TrainOptions, type TrainResult } from './tasks/train.js';
export { AdamW, type AdamWOptions } from './optim/adamw.js';
export { checkpointOf, loadCheckpoint, saveCheckpoint, type Checkpoint, type TrainingState } from './io/checkpoint.js';
export type { Task, ModelKind } from './model/task.js';
export { exportPth, exportSafetensors } from './io/export.js';
export { readSafetensors, writeSafetensors } from './io/safetensors.js';
export { simulate } from './sim/cpu.js';
export { Rng } from './util/rng.js';
export { VERSION } from './version.js';
