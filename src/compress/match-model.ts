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

/** What a rollback restores: the learned cells, and (for segments coded side by side) the tables and matches too. */
export interface MatchState {
  p: Float64Array;
  n: Int32Array;
  tables?: { short: Int32Array; long: Int32Array; lanes: Lane[]; known: Int32Array };
}

/** A segment's match: where it continues (its next byte is the prediction) and its length (0: none). */
interface Lane {
  ptr: number;
  len: number;
  /** The cell and byte of the prediction made for the byte being coded (−1: none). */
  cell: number;
  predicted: number;
}

/**
 * The match model of a file, or of a group of segments of one (container version 3) coded side by side:
 * segment k is bytes [k·seg, (k + 1)·seg) of `data`, offsets within it are its lane's positions. The
 * segments share the tables and the cells, and each finds matches in what every segment has made known so
 * far (its prefix: bytes coded or stored, in the order the coder calls update), never across a segment's
 * start or into bytes not yet known. One segment is the whole file: the model of version-2 containers.
 */
export class MatchModel {
  private short = new Int32Array(1 << HASH_BITS).fill(-1);
  private long = new Int32Array(1 << HASH_BITS).fill(-1);
  private lanes: Lane[];
  /** Bytes known of each segment (a prefix). */
  private known: Int32Array;
  private cells = { p: new Float64Array(LEN_BUCKETS * ODDS_BUCKETS).fill(NaN), n: new Int32Array(LEN_BUCKETS * ODDS_BUCKETS) };
  private out = new Int32Array(256);

  /** `data`: the bytes, filled in order (the decoder's output buffer); a byte is read once known. */
  constructor(private data: Uint8Array, private seg = Math.max(1, data.length)) {
    const k = Math.max(1, Math.ceil(data.length / seg));
    this.lanes = Array.from({ length: k }, () => ({ ptr: 0, len: 0, cell: -1, predicted: 0 }));
    this.known = new Int32Array(k);
  }

  /**
   * The frequencies to code segment k's next byte with, from the byte model's `f` (each ≥ 1): `f` itself
   * when there is no match, else a reshaped copy (valid until the next call).
   */
  adjust(f: Int32Array, k = 0): Int32Array {
    const lane = this.lanes[k];
    lane.cell = -1;
    if (lane.len === 0) return f;
    const b = this.data[lane.ptr];
    let total = 0;
    for (let x = 0; x < 256; x++) total += f[x];
    const fb = f[b], others = total - fb;
    const cell = lengthBucket(lane.len) * ODDS_BUCKETS + oddsBucket(fb / others);
    const { p } = this.cells;
    if (Number.isNaN(p[cell])) p[cell] = fb / total; // a new cell starts from the byte model's own belief
    lane.cell = cell;
    lane.predicted = b;
    const kept = Math.max(1, Math.min(TOTAL - 255, Math.floor(p[cell] * TOTAL))), rest = TOTAL - kept;
    const out = this.out;
    for (let x = 0; x < 256; x++) out[x] = Math.max(1, Math.floor((f[x] * rest) / others));
    out[b] = kept;
    return out;
  }

  /** Byte i of segment k is known (coded or stored): the prediction made for it, if any, is scored, and the match moves on. */
  update(i: number, k = 0): void {
    const data = this.data, lane = this.lanes[k], at = k * this.seg + i, c = data[at];
    this.known[k] = i + 1;
    if (lane.cell >= 0) {
      const { p, n } = this.cells, cell = lane.cell;
      n[cell] = Math.min(n[cell] + 1, LIMIT);
      p[cell] += ((c === lane.predicted ? 1 : 0) - p[cell]) / (n[cell] + 0.5);
      lane.cell = -1;
    }
    if (lane.len > 0 && data[lane.ptr] === c && this.isKnown(lane.ptr + 1)) {
      lane.len = Math.min(lane.len + 1, 1 << 30);
      lane.ptr++;
    } else lane.len = 0;
    this.index(this.long, LONG, k, i);
    this.index(this.short, SHORT, k, i);
  }

  /** Whether byte `at` of data is known and continues the segment of byte at − 1. */
  private isKnown(at: number): boolean {
    const k = Math.floor(at / this.seg), prev = Math.floor((at - 1) / this.seg);
    return k === prev && k < this.known.length && at - k * this.seg < this.known[k];
  }

  /** The learned state, for a rollback: the cells alone, or (`all`) the tables and the matches as well. */
  snapshot(all = false): MatchState {
    const s: MatchState = { p: this.cells.p.slice(), n: this.cells.n.slice() };
    if (all) s.tables = { short: this.short.slice(), long: this.long.slice(), lanes: this.lanes.map((l) => ({ ...l })), known: this.known.slice() };
    return s;
  }

  restore(s: MatchState): void {
    this.cells = { p: s.p.slice(), n: s.n.slice() };
    if (s.tables) {
      this.short.set(s.tables.short);
      this.long.set(s.tables.long);
      this.lanes = s.tables.lanes.map((l) => ({ ...l }));
      this.known.set(s.tables.known);
    }
  }

  /** Looks segment k's last `m` bytes up (when no match runs) and records that they end at its byte i. */
  private index(table: Int32Array, m: number, k: number, i: number): void {
    if (i + 1 < m) return;
    const data = this.data, lane = this.lanes[k], at = k * this.seg + i;
    let h = 0;
    for (let j = at + 1 - m; j <= at; j++) h = (Math.imul(h, 0x2f0b3a49) + data[j] + 1) >>> 0;
    h >>>= 32 - HASH_BITS;
    if (lane.len === 0) {
      const q = table[h];
      if (q >= 0 && this.isKnown(q)) {
        // checked back within both segments: the earlier occurrence's and this one's
        const from = Math.floor((q - 1) / this.seg) * this.seg;
        let l = 0;
        while (l < MAX_VERIFY && q - 1 - l >= from && l <= i && data[q - 1 - l] === data[at - l]) l++;
        if (l >= m) {
          lane.len = l;
          lane.ptr = q;
        }
      }
    }
    table[h] = at + 1;
  }
}
