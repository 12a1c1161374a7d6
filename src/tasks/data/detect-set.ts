/**
 * `bgpt data detect-set`: the content-type detector's data (docs/detect.md), taken from a corpus of real files
 * (`bgpt data corpus`). The label of a file is its content type in the corpus manifest — the corpus's rule of
 * location and name, never libmagic, which is the baseline. The split is the corpus's, by Debian package.
 * Each file is linked as OUT/<split>/<label>/<sha256 prefix> with no extension: a detector reads bytes only.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SUMMARY, readManifest, seededUnit, type ManifestRow } from './corpus.js';

export interface DetectSetOptions {
  corpus: string;
  out: string;
  /** Training files a type needs to become a label (fewer: left out, and listed). */
  minTrain?: number;
  /** Most training files of one label (a seeded, content-defined choice): the common types do not drown the rare. */
  maxTrain?: number;
  seed?: number;
}

export interface DetectSetSummary {
  labels: string[];
  /** Per label: training and held-out files. */
  counts: Record<string, { train: number; heldout: number }>;
  /** Types with too few training files to be labels, with their counts. */
  leftOut: Record<string, { train: number; heldout: number }>;
  /** The corpus this set was taken from (its corpus.json's manifest hash; null when it has none). */
  corpus_manifest_sha256: string | null;
}

export const DETECT_DEFAULTS = { minTrain: 8, maxTrain: 400, seed: 0 } as const;

export function buildDetectSet(o: DetectSetOptions): DetectSetSummary {
  const rows = readManifest(o.corpus);
  const minTrain = o.minTrain ?? DETECT_DEFAULTS.minTrain, maxTrain = o.maxTrain ?? DETECT_DEFAULTS.maxTrain, seed = o.seed ?? DETECT_DEFAULTS.seed;
  if (existsSync(o.out) && readdirSync(o.out).length && !existsSync(join(o.out, 'labels.txt'))) {
    throw new Error(`${o.out}: not empty and not a detect set (left as it is)`);
  }
  const byType = new Map<string, { train: ManifestRow[]; heldout: ManifestRow[] }>();
  for (const r of rows) {
    const t = byType.get(r.type) ?? { train: [], heldout: [] };
    t[r.split].push(r);
    byType.set(r.type, t);
  }
  const labels = [...byType.keys()].filter((t) => byType.get(t)!.train.length >= minTrain).sort();
  const counts: DetectSetSummary['counts'] = {}, leftOut: DetectSetSummary['leftOut'] = {};
  for (const [t, s] of byType) if (!labels.includes(t)) leftOut[t] = { train: s.train.length, heldout: s.heldout.length };

  // built beside the destination and renamed into place: an interrupted build leaves the old set whole
  const tmp = `${o.out}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  for (const label of labels) {
    const s = byType.get(label)!;
    const train = [...s.train].sort((a, b) => seededUnit(seed, a.sha256) - seededUnit(seed, b.sha256)).slice(0, maxTrain);
    counts[label] = { train: train.length, heldout: s.heldout.length };
    for (const [split, list] of [['train', train], ['heldout', s.heldout]] as const) {
      if (!list.length) continue;
      const dir = join(tmp, split, label);
      mkdirSync(dir, { recursive: true });
      for (const r of list) place(join(o.corpus, r.path), join(dir, r.sha256.slice(0, 16)));
    }
  }
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'labels.txt'), `${labels.join('\n')}\n`);
  const corpusJson = join(o.corpus, SUMMARY);
  const hash = existsSync(corpusJson) ? (JSON.parse(readFileSync(corpusJson, 'utf8')) as { manifest_sha256?: string }).manifest_sha256 ?? null : null;
  const summary: DetectSetSummary = { labels, counts, leftOut, corpus_manifest_sha256: hash };
  writeFileSync(join(tmp, 'detect-set.json'), `${JSON.stringify({ ...summary, minTrain, maxTrain, seed }, null, 1)}\n`);
  rmSync(o.out, { recursive: true, force: true });
  renameSync(tmp, o.out);
  return summary;
}

/** A hard link where the file system allows one (the corpus is large), else a copy. */
function place(from: string, to: string): void {
  if (!existsSync(from)) throw new Error(`${from}: listed in the corpus manifest but missing (rebuild the corpus or run bgpt data corpus --verify)`);
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}
