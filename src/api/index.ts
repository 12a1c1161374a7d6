/**
 * The task layer: what bgpt does with bytes, each task written once, taking `Uint8Array`s and returning plain
 * objects. No Node imports: the CLI, the server, the page's worker and training's evaluation call these.
 */
export { score, scoringWindows, type FileInput, type Score, type ScoreOptions, type ScoreResult } from './score.js';
export { classify, topLabels, type Classification, type ClassifyOptions } from './classify.js';
export { convert, generate, type Generated, type SampleOptions } from './generate.js';
export { compress, decompress, decompressAll, useExactKernels } from './compress.js';
export { detect, detectHeadBytes, detectInput, type Detection, type DetectOptions } from './detect.js';
