/** A one-line progress display on stderr, only when stderr is a terminal (logs and pipes stay clean). */
import type { Progress } from '../util/progress.js';

export type { Progress };

export function progressLine(label: string): Progress {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    update(text) {
      const now = Date.now();
      if (!tty || now - last < 100) return;
      last = now;
      process.stderr.write(`\r\x1b[K${label}: ${text}`);
    },
    done() {
      if (tty && last) process.stderr.write('\r\x1b[K');
    },
  };
}
