/**
 * What a model is for — the one task type of the models, checkpoints (metadata `bgpt.task`), training and the
 * task layer. A conversion model is a generative model trained on input→output pairs; a classifier has a head
 * of one output per label.
 */
export type Task =
  | { kind: 'generative' }
  | { kind: 'conversion'; mode: string }
  | { kind: 'classification'; labels: string[]; reads?: Reads };

/**
 * What a classifier reads of a file longer than its context: its head (absent), or its two ends (trained
 * with `--crop ends`: data/patches.ts endsOf). Reading must be as in training.
 */
export type Reads = 'head' | 'ends';

/** The two kinds of model: a conversion model is a generative one. */
export type ModelKind = 'generative' | 'classification';

/** Outputs of the classifier head (0: a generative model). */
export function classCount(t: Task): number {
  return t.kind === 'classification' ? t.labels.length : 0;
}

/** Label names "0", "1", … for a classifier whose file names none. */
export function defaultLabels(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i));
}
