/**
 * CPU time the hypervisor gave to other guests ("steal"), from Linux /proc/stat. On a shared virtual machine
 * a benchmark's figure can drop by half with no change in the code; the stolen share of the timed interval
 * says whether a figure was taken on a quiet machine.
 */
import { nodeFs } from './node.js';

export interface CpuTimes {
  steal: number;
  total: number;
}

/** The aggregate "cpu" line of a /proc/stat text: steal (8th value) and the sum of all values, in ticks. */
export function parseCpuTimes(stat: string): CpuTimes | null {
  const line = stat.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return null;
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (v.length < 8 || v.some((x) => !Number.isFinite(x))) return null;
  return { steal: v[7], total: v.reduce((a, b) => a + b, 0) };
}

/** This machine's CPU times now (null where /proc/stat is missing or unreadable). */
export function cpuTimes(): CpuTimes | null {
  try {
    return parseCpuTimes(nodeFs().readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

/** Stolen share of the CPU time between two readings, 0..1 (null without both readings or elapsed ticks). */
export function stealShare(before: CpuTimes | null, after: CpuTimes | null): number | null {
  if (!before || !after || after.total <= before.total) return null;
  return +((after.steal - before.steal) / (after.total - before.total)).toFixed(3);
}
