/**
 * `bgpt/web`: the task layer for browsers and bundlers — no Node built-in is imported (scripts/build-web.mjs
 * bundles this file for the browser and fails if one appears). Models load from bytes, a Blob or File, or a
 * URL, onto the TypeScript kernels unless others are given.
 */
export * from './api/index.js';
export { loadModelFrom as loadModel, type LoadOptions, type ModelSource } from './api/load.js';
export type { LoadedModel } from './io/weights.js';
export { tsKernels } from './backend/ts/kernels.js';
export type { Kernels } from './backend/types.js';
