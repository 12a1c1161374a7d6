/** The server's scoring and classifying of request bodies: the task layer's (api/), several bodies in one padded forward. */
import { classify, probsByLabel } from '../api/classify.js';
import { score, type FileInput } from '../api/score.js';
import type { BgptModel } from '../model/bgpt.js';
import type { BgptClassifier } from '../model/classifier.js';

export type { FileInput } from '../api/score.js';

export interface Score {
  /** Mean cross-entropy in nats per predicted token. */
  loss: number;
  bpb: number;
  bytes: number;
}

export interface ClassProbs {
  label: string;
  probs: Record<string, number>;
}

export function scoreFiles(model: BgptModel, files: FileInput[]): Score[] {
  // one forward for the whole batch the scheduler gathered
  return score(model, files, { maxTokens: Infinity }).files.map(({ loss, bpb, bytes }) => ({ loss, bpb, bytes }));
}

export function classifyFiles(model: BgptClassifier, labels: string[], files: FileInput[]): ClassProbs[] {
  return classify(model, labels, files, { batch: files.length }).map((c) => ({ label: c.label, probs: probsByLabel(c, labels) }));
}
