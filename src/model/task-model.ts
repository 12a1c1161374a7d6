/** The model a task needs: a generative bGPT, or a classifier with a head of one output per label. */
import type { Kernels } from '../backend/types.js';
import { BgptModel, type ModelOptions } from './bgpt.js';
import { BgptClassifier } from './classifier.js';
import type { BgptConfig } from './config.js';
import type { Task } from './task.js';

export type TaskModel = BgptModel | BgptClassifier;

export function modelForTask(k: Kernels, c: BgptConfig, task: Task & { kind: 'classification' }, opts?: ModelOptions): BgptClassifier;
export function modelForTask(k: Kernels, c: BgptConfig, task: Exclude<Task, { kind: 'classification' }>, opts?: ModelOptions): BgptModel;
export function modelForTask(k: Kernels, c: BgptConfig, task: Task, opts?: ModelOptions): TaskModel;
export function modelForTask(k: Kernels, c: BgptConfig, task: Task, opts: ModelOptions = {}): TaskModel {
  return task.kind === 'classification' ? new BgptClassifier(k, c, task.labels.length, { ...opts, reads: task.reads }) : new BgptModel(k, c, opts);
}
