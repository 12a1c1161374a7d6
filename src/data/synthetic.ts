/**
 * Generated corpora with a learnable structure, for the demo and for tests that must see a model learn:
 * sensor logs whose keys are fixed, whose clock ticks forward and whose readings drift slowly; and four
 * kinds of text file (log, CSV, JSON, config) for a file-type classifier.
 */
import type { Rng } from '../util/rng.js';

const STATUS = ['OK', 'OK', 'OK', 'WARN', 'OK', 'IDLE'];
const WORDS = ['alpha', 'delta', 'node', 'cache', 'queue', 'disk', 'host', 'user', 'port', 'mode'];

/** One log file of `lines` lines. */
export function sensorLog(rng: Rng, lines: number): string {
  let t = rng.int(86400 - 600), temp = 150 + rng.int(200);
  const id = 10 + rng.int(90);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    t += 1 + rng.int(9);
    temp = Math.max(0, Math.min(999, temp + rng.int(7) - 3));
    const hh = String(Math.floor(t / 3600)).padStart(2, '0');
    const mm = String(Math.floor(t / 60) % 60).padStart(2, '0');
    const ss = String(t % 60).padStart(2, '0');
    out.push(`${hh}:${mm}:${ss} id=${id} temp=${Math.floor(temp / 10)}.${temp % 10} ${STATUS[rng.int(STATUS.length)]}\n`);
  }
  return out.join('');
}

const word = (rng: Rng) => WORDS[rng.int(WORDS.length)];

/** Text files of four kinds, to tell apart by content alone (all saved as .txt). */
export const TEXT_KINDS: Record<string, (rng: Rng) => string> = {
  Log: (rng) => sensorLog(rng, 2 + rng.int(4)),
  Csv: (rng) => Array.from({ length: 3 + rng.int(4) }, () => Array.from({ length: 4 }, () => rng.int(1000)).join(',')).join('\n') + '\n',
  Json: (rng) => `{${Array.from({ length: 2 + rng.int(3) }, () => `"${word(rng)}": ${rng.int(500)}`).join(', ')}}\n`,
  Config: (rng) => Array.from({ length: 2 + rng.int(4) }, () => `${word(rng)} = ${word(rng)}`).join('\n') + '\n',
};
