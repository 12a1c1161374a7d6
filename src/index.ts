/** The bgpt library API. */
export { getKernels, nativeKernels, tsKernels, type Kernels } from './backend/index.js';
export { BgptModel, selectPairs, type Batch, type ForwardOptions, type ForwardResult } from './model/bgpt.js';
export { BgptClassifier, type ClassifierResult } from './model/classifier.js';
export { DEFAULT_CONFIG, EOP, VOCAB, type BgptConfig } from './model/config.js';
export { buildLayout, type ParamLayout } from './model/params.js';
export { AdamW, type AdamWOptions } from './optim/adamw.js';
export { collate, extensionOf, filePatches, headerPatch, truncate } from './data/patches.js';
export { listFiles, walkFiles } from './data/files.js';
export { readSafetensors, readSafetensorsHeader, writeSafetensors } from './io/safetensors.js';
export { inferConfig, loadModelFile, modelFromTensors, saveWeights, type LoadedModel } from './io/weights.js';
export { evaluateFiles, type EvalResult, type FileScore } from './tasks/eval.js';
export { Rng } from './util/rng.js';
export { VERSION } from './version.js';
