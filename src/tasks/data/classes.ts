/** A folder per class → `LABEL_N.ext` files in a new folder, optionally split into train/ and test/. */
import { planClasses, writeClasses, type ClassFile } from '../../data/media/classes.js';
import { Rng } from '../../util/rng.js';
import { emptyOrNew } from './batch.js';

export interface ClassesResult {
  plan: ClassFile[];
  /** Files per class label, in the order the classes were found. */
  perClass: Map<string, number>;
  /** `folder → label` for classes whose folder name had to change. */
  renamed: string[];
  /** Files put in test/. */
  test: number;
}

export function makeClasses(src: string, out: string, o: { testShare: number; seed: number }): ClassesResult {
  emptyOrNew(out);
  const plan = planClasses(src, { testShare: o.testShare, rng: new Rng(o.seed) });
  writeClasses(plan, out);
  const perClass = new Map<string, number>();
  for (const f of plan) perClass.set(f.label, (perClass.get(f.label) ?? 0) + 1);
  const renamed = [...new Set(plan.filter((f) => f.label !== f.folder).map((f) => `${f.folder} → ${f.label}`))];
  return { plan, perClass, renamed, test: plan.filter((f) => f.to.startsWith('test')).length };
}
