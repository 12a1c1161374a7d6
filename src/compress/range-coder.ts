/**
 * A range coder (the carry-propagating form of LZMA's): 32-bit range kept ≥ 2^24, frequencies summing to at
 * most 2^24 per symbol. All arithmetic is on integers below 2^53, exact in JavaScript numbers. The encoder's
 * first output byte is always 0 and is not stored; it ends on the value in its final interval with the most
 * trailing zero bytes and drops those, since the decoder reads zeros past the end of its input.
 */
const TOP = 2 ** 24, B32 = 2 ** 32;

/** Cumulative frequency below `sym` and the total of `freq[0..n)`. */
function cumTotal(freq: ArrayLike<number>, sym: number, n: number): [number, number] {
  let cum = 0, i = 0;
  for (; i < sym; i++) cum += freq[i];
  let total = cum;
  for (; i < n; i++) total += freq[i];
  return [cum, total];
}

export class RangeEncoder {
  private low = 0; // < 2^33: bit 32 is a pending carry
  private range = B32 - 1;
  private cache = 0;
  private cacheSize = 1;
  private out: Uint8Array = new Uint8Array(1024);
  private n = 0;
  private first = true;

  private put(b: number): void {
    if (this.first) {
      this.first = false; // always 0: see the file comment
      return;
    }
    if (this.n === this.out.length) {
      const o = new Uint8Array(this.out.length * 2);
      o.set(this.out);
      this.out = o;
    }
    this.out[this.n++] = b;
  }

  private shiftLow(): void {
    if (this.low < 0xff000000 || this.low >= B32) {
      const carry = this.low >= B32 ? 1 : 0;
      let c = this.cache;
      do {
        this.put((c + carry) & 0xff);
        c = 0xff;
      } while (--this.cacheSize !== 0);
      this.cache = Math.floor(this.low / TOP) & 0xff;
    }
    this.cacheSize++;
    this.low = (this.low % TOP) * 256;
  }

  /** Codes symbol `sym` of the alphabet 0..n−1 with frequencies `freq` (each ≥ 1 that can occur). */
  encode(freq: ArrayLike<number>, sym: number, n = freq.length): void {
    const [cum, total] = cumTotal(freq, sym, n);
    const r = Math.floor(this.range / total);
    this.low += r * cum;
    this.range = r * freq[sym];
    while (this.range < TOP) {
      this.range *= 256;
      this.shiftLow();
    }
  }

  /** Flushes and returns the coded bytes. */
  finish(): Uint8Array {
    // any value in [low, low + range) decodes the same symbols: take the one with the most trailing zeros
    for (let k = 32; k > 0; k--) {
      const step = 2 ** k, v = Math.ceil(this.low / step) * step;
      if (v < this.low + this.range) {
        this.low = v;
        break;
      }
    }
    for (let i = 0; i < 5; i++) this.shiftLow();
    let n = this.n;
    while (n > 0 && this.out[n - 1] === 0) n--;
    return this.out.slice(0, n);
  }
}

export class RangeDecoder {
  private code = 0;
  private range = B32 - 1;
  private pos = 0;

  constructor(private data: Uint8Array) {
    for (let i = 0; i < 4; i++) this.code = this.code * 256 + this.next();
  }

  /** The next input byte; zeros past the end (the encoder drops its trailing zeros). */
  private next(): number {
    return this.pos < this.data.length ? this.data[this.pos++] : (this.pos++, 0);
  }

  /** Decodes one symbol coded with the same frequencies. */
  decode(freq: ArrayLike<number>, n = freq.length): number {
    const total = cumTotal(freq, n, n)[1];
    const r = Math.floor(this.range / total);
    let v = Math.floor(this.code / r);
    if (v >= total) v = total - 1; // only in corrupt data; the checksum reports it
    let sym = 0, cum = 0;
    while (cum + freq[sym] <= v) cum += freq[sym++];
    this.code -= r * cum;
    this.range = r * freq[sym];
    while (this.range < TOP) {
      this.range *= 256;
      this.code = (this.code % TOP) * 256 + this.next();
    }
    return sym;
  }

  /** Bytes of the input consumed so far, zeros past the end included (at least all of them once the last symbol is decoded). */
  get consumed(): number {
    return this.pos;
  }
}
