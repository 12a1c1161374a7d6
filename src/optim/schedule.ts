/**
 * The learning-rate schedule of the reference trainer: linear warm-up from 0 over the first `warmup`
 * optimizer steps, then a cosine decay to 0 at `total` (transformers' get_cosine_schedule_with_warmup).
 */
export function cosineWithWarmup(step: number, total: number, warmup: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  const progress = (step - warmup) / Math.max(1, total - warmup);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
}

/** Warm-up steps for a fraction of all steps (at least one when the fraction is positive). */
export function warmupSteps(total: number, fraction: number): number {
  return fraction > 0 ? Math.max(1, Math.round(total * fraction)) : 0;
}
