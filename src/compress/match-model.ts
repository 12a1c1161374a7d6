/**
 * The match model of matched blocks (docs/compression.md). The byte model sees a window of its context; a
 * file repeats itself over longer distances (a licence quoted twice, markup's tags, a table of symbols). The
 * match model finds the latest earlier occurrence of the last LONG (else SHORT) bytes anywhere before in the
 * file and predicts the byte that followed it. How often such a prediction is right is learned as the file
 * is coded, per cell of (match length, the byte model's own odds for that byte), and the byte model's
 * frequencies are reshaped: the predicted byte gets the learned probability, the others share the rest in
 * the byte model's proportions. Encoder and decoder run it over the same bytes in the same order; it uses
 * integer and IEEE-754 +−×÷ arithmetic only (no Math.log or exp), so every machine computes the same bits.
 */

const HASH_BITS = 20;
/** Bytes a match must have to be found (both tables; the longer is looked up first). */
const SHORT = 3, LONG = 6;
/** A match is checked back this far: every length past it falls in the last length bucket anyway. */
const MAX_VERIFY = 256;
const LEN_BUCKETS = 16, ODDS_BUCKETS = 40;
/** A cell's estimate moves by 1/(n + ½) after n predictions, down to 1/LIMIT: it keeps adapting. */
const LIMIT = 255;
/** The frequencies' total after reshaping (every byte keeps at least 1). */
const TOTAL = 65536;

/** Thresholds of the odds buckets: 2^((j − 20)/2) for j = 1 … ODDS_BUCKETS − 1 (exact powers and × √2). */
const ODDS = Array.from({ length: ODDS_BUCKETS - 1 }, (_, i) => {
  const j = i + 1 - 20;
  const p = 2 ** Math.floor(j / 2);
  return j % 2 === 0 ? p : p * Math.SQRT2;
});

/** Half-steps of log2 of the match length, 1 → 0, 2 → 2, 3 → 3, 4 → 4, 6 → 5 …, capped. */
function lengthBucket(len: number): number {
  const k = 31 - Math.clz32(len);
  return Math.min(LEN_BUCKETS - 1, 2 * k + (2 * len >= 3 << k ? 1 : 0));
}

function oddsBucket(odds: number): number {
  let b = 0;
  while (b < ODDS.length && odds >= ODDS[b]) b++;
  return b;
}

/** The cells' learned state: it is rolled back when a block the encoder tried is stored instead. */
export interface MatchCells {
  p: Float64Array;
  n: Int32Array;
}

export class MatchModel {
  private short = new Int32Array(1 << HASH_BITS).fill(-1);
  private long = new Int32Array(1 << HASH_BITS).fill(-1);
  /** Where the current match continues (its next byte is the prediction) and its length; 0: none. */
  private ptr = 0;
  private len = 0;
  private cells: MatchCells = { p: new Float64Array(LEN_BUCKETS * ODDS_BUCKETS).fill(NaN), n: new Int32Array(LEN_BUCKETS * ODDS_BUCKETS) };
  /** The cell and byte of the prediction made for the byte being coded (−1: none). */
  private cell = -1;
  private predicted = 0;
  private out = new Int32Array(256);

  /** `data`: the file's bytes, filled in order (the decoder's output buffer); byte i is read once known. */
  constructor(private data: Uint8Array) {}

  /**
   * The frequencies to code the next byte with, from the byte model's `f` (each ≥ 1): `f` itself when there
   * is no match, else a reshaped copy (valid until the next call).
   */
  adjust(f: Int32Array): Int32Array {
    this.cell = -1;
    if (this.len === 0) return f;
    const b = this.data[this.ptr];
    let total = 0;
    for (let x = 0; x < 256; x++) total += f[x];
    const fb = f[b], others = total - fb;
    const cell = lengthBucket(this.len) * ODDS_BUCKETS + oddsBucket(fb / others);
    const { p } = this.cells;
    if (Number.isNaN(p[cell])) p[cell] = fb / total; // a new cell starts from the byte model's own belief
    this.cell = cell;
    this.predicted = b;
    const kept = Math.max(1, Math.min(TOTAL - 255, Math.floor(p[cell] * TOTAL))), rest = TOTAL - kept;
    const out = this.out;
    for (let x = 0; x < 256; x++) out[x] = Math.max(1, Math.floor((f[x] * rest) / others));
    out[b] = kept;
    return out;
  }

  /** Byte i is known (coded or stored): the prediction made for it, if any, is scored, and the match moves on. */
  update(i: number): void {
    const data = this.data, c = data[i];
    if (this.cell >= 0) {
      const { p, n } = this.cells, k = this.cell;
      n[k] = Math.min(n[k] + 1, LIMIT);
      p[k] += ((c === this.predicted ? 1 : 0) - p[k]) / (n[k] + 0.5);
      this.cell = -1;
    }
    if (this.len > 0 && data[this.ptr] === c) {
      this.len = Math.min(this.len + 1, 1 << 30);
      this.ptr++;
    } else this.len = 0;
    this.index(this.long, LONG, i);
    this.index(this.short, SHORT, i);
  }

  /** The learned cells, for a rollback. */
  snapshot(): MatchCells {
    return { p: this.cells.p.slice(), n: this.cells.n.slice() };
  }

  restore(s: MatchCells): void {
    this.cells = { p: s.p.slice(), n: s.n.slice() };
  }

  /** Looks the last `m` bytes up (when no match runs) and records that they end at byte i. */
  private index(table: Int32Array, m: number, i: number): void {
    if (i + 1 < m) return;
    const data = this.data;
    let h = 0;
    for (let k = i + 1 - m; k <= i; k++) h = (Math.imul(h, 0x2f0b3a49) + data[k] + 1) >>> 0;
    h >>>= 32 - HASH_BITS;
    if (this.len === 0) {
      const q = table[h];
      if (q >= 0) {
        let l = 0;
        while (l < MAX_VERIFY && q - 1 - l >= 0 && data[q - 1 - l] === data[i - l]) l++;
        if (l >= m) {
          this.len = l;
          this.ptr = q;
        }
      }
    }
    table[h] = i + 1;
  }
}
