/** The model a task needs: a generative bGPT, or a classifier with a head of `labels` outputs. */
import type { Kernels } from '../backend/types.js';
import { BgptModel, type ModelOptions } from './bgpt.js';
import { BgptClassifier } from './classifier.js';
import type { BgptConfig } from './config.js';
import type { Task } from './params.js';

export type TaskModel = BgptModel | BgptClassifier;

export function modelForTask(k: Kernels, c: BgptConfig, task: { kind: 'generative' }, opts?: ModelOptions): BgptModel;
export function modelForTask(k: Kernels, c: BgptConfig, task: { kind: 'classification'; labels: number }, opts?: ModelOptions): BgptClassifier;
export function modelForTask(k: Kernels, c: BgptConfig, task: Task, opts?: ModelOptions): TaskModel;
export function modelForTask(k: Kernels, c: BgptConfig, task: Task, opts: ModelOptions = {}): TaskModel {
  return task.kind === 'classification' ? new BgptClassifier(k, c, task.labels, opts) : new BgptModel(k, c, opts);
}
