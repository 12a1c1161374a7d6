/**
 * The models shipped inside the package: the base model (docs/base-model.md), a generative model of real files
 * that `eval`, `generate`, `compress`, `serve` and the page use when no model is named, and the content-type
 * detector (docs/detect.md) that `bgpt detect` uses.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where the shipped models lie: models/ at the package root (this file is dist/io/ or src/io/ below it). */
export const DEFAULT_MODEL = fileURLToPath(new URL('../../models/base.safetensors', import.meta.url));
export const DEFAULT_DETECTOR = fileURLToPath(new URL('../../models/detect.safetensors', import.meta.url));

/** The model a command uses: the one named, else the shipped one (`shipped`, the base model by default). */
export function modelPathOr(named: string | undefined, shipped = DEFAULT_MODEL): string {
  if (named !== undefined) return named;
  if (!existsSync(shipped)) throw new Error(`no --model given and the shipped model ${shipped} is missing (reinstall bgpt, or name a model with --model)`);
  return shipped;
}
