/**
 * The base model shipped inside the package (docs/base-model.md): a generative model of real files that
 * `eval`, `generate`, `compress`, `serve` and the page use when no model is named.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where the shipped model lies: models/ at the package root (this file is dist/io/ or src/io/ below it). */
export const DEFAULT_MODEL = fileURLToPath(new URL('../../models/base.safetensors', import.meta.url));

/** The model a command uses: the one named, else the shipped base model. */
export function modelPathOr(named: string | undefined): string {
  if (named !== undefined) return named;
  if (!existsSync(DEFAULT_MODEL)) throw new Error(`no --model given and the shipped base model ${DEFAULT_MODEL} is missing (reinstall bgpt, or name a model with --model)`);
  return DEFAULT_MODEL;
}
