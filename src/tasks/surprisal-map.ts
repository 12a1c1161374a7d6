/**
 * The picture of what a byte model sees: a file's bytes, each shaded by the bits the model spent on it
 * (its surprisal), as HTML. Text is shown as text, anything else as a hex view; runs of bytes of the same
 * shade share one element, so a 64 KiB file stays a page a browser opens at once. Used by the page and by
 * `bgpt eval --html`.
 */
import { escapeHtml } from '../util/html.js';
import { looksLikeText } from '../util/looks-like-text.js';

/** Shades of the map: 0 bits white, 8 bits and more the darkest. */
const LEVELS = 16;
const MAX_BITS = 8;

/** The style the map needs (once per page). */
export const SURPRISAL_CSS = `.smap{font:12px/1.35 ui-monospace,monospace;white-space:pre-wrap;word-break:break-all;max-width:60em;max-height:30em;overflow:auto;border:1px solid #ddd;padding:4px}
${Array.from({ length: LEVELS }, (_, l) => `.s${l}{background:rgba(220,40,20,${(l / (LEVELS - 1)).toFixed(3)})${l > 10 ? ';color:#fff' : ''}}`).join('')}
.smap .u{color:#999}.skey b{display:inline-block;width:1.6em;text-align:center;font:11px monospace}.skey .u{color:#999}`;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

const level = (bits: number) => (Number.isFinite(bits) ? Math.min(LEVELS - 1, Math.max(0, Math.round((bits / MAX_BITS) * (LEVELS - 1)))) : -1);

/** Characters of `bytes` with the byte range each covers (UTF-8 sequences kept whole, bad bytes as U+FFFD). */
function characters(bytes: Uint8Array): { text: string; from: number; to: number }[] {
  const out: { text: string; from: number; to: number }[] = [];
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i], n = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    const seq = bytes.subarray(i, Math.min(bytes.length, i + n));
    let text: string;
    try {
      text = UTF8.decode(seq);
    } catch {
      text = '\ufffd';
    }
    out.push({ text, from: i, to: i + seq.length });
    i += seq.length;
  }
  return out;
}

/** Mean bits over [from, to), NaN when none was scored. */
function meanBits(bits: Float32Array, from: number, to: number): number {
  let s = 0, n = 0;
  for (let i = from; i < to && i < bits.length; i++) if (Number.isFinite(bits[i])) (s += bits[i]), n++;
  return n ? s / n : NaN;
}

/** Joins cells of equal shade into spans; cells past the scored part are grey. */
function spans(cells: { html: string; bits: number }[]): string {
  let out = '', run = '', runLevel = -2;
  const flush = () => {
    if (run) out += runLevel < 0 ? `<span class="u">${run}</span>` : `<span class="s${runLevel}">${run}</span>`;
    run = '';
  };
  for (const c of cells) {
    const l = level(c.bits);
    if (l !== runLevel) {
      flush();
      runLevel = l;
    }
    run += c.html;
  }
  flush();
  return out;
}

/**
 * The map of `bytes` (at most `maxBytes` shown) with `bits[i]` the surprisal of byte i (NaN: not scored,
 * e.g. past the model's context).
 */
export function surprisalMap(bytes: Uint8Array, bits: Float32Array, opts: { maxBytes?: number } = {}): string {
  const shown = bytes.subarray(0, opts.maxBytes ?? 65536);
  let body: string;
  if (looksLikeText(shown)) {
    body = spans(characters(shown).map((c) => ({ html: c.text === '\r' ? '' : escapeHtml(c.text), bits: meanBits(bits, c.from, c.to) })));
  } else {
    const rows: string[] = [];
    for (let r = 0; r < shown.length; r += 16) {
      const row = [...shown.subarray(r, r + 16)].map((b, j) => ({ html: b.toString(16).padStart(2, '0') + (j < 15 ? ' ' : ''), bits: bits[r + j] ?? NaN }));
      rows.push(`<span class="u">${r.toString(16).padStart(8, '0')}  </span>${spans(row)}`);
    }
    body = rows.join('\n');
  }
  const more = bytes.length > shown.length ? `\n<span class="u">… ${bytes.length - shown.length} more bytes not shown</span>` : '';
  return `<div class="smap">${body}${more}</div>`;
}

/** The key: what each shade means. */
export function surprisalKey(): string {
  const cells = Array.from({ length: 9 }, (_, b) => `<b class="s${level(b)}">${b}</b>`).join('');
  return `<div class="skey">bits per byte: ${cells} <span class="u">grey: not scored</span></div>`;
}

/** A model's verdict on a file from its bits per byte. */
export function verdict(bpb: number): string {
  if (bpb < 2) return 'familiar: predicted well';
  if (bpb < 4.5) return 'partly predictable';
  if (bpb < 7) return 'hard to predict';
  return 'unpredictable (compressed or random-looking)';
}

/** A scored file as the report shows it: `data` its bytes (all, or the part scored), `surprisal` the bits of each scored byte. */
export interface ReportedFile {
  name: string;
  bpb: number;
  bytes: number;
  data: Uint8Array;
  surprisal?: Float32Array;
}

/** The scores at a glance (the page, `bgpt eval --html`): a table of files (bits per byte, bytes, verdict), the key, and each file's map. */
export function scoreReport(files: ReportedFile[], bpb: number): string {
  const rows = files.map((f) => `<tr><td>${escapeHtml(f.name)}</td><td class="n">${f.bpb.toFixed(3)}</td><td class="n">${f.bytes}</td><td>${verdict(f.bpb)}</td></tr>`).join('');
  const table = `<table><tr><th>file</th><th>bits per byte</th><th>bytes</th><th>verdict</th></tr>${rows}${files.length > 1 ? `<tr><th>all</th><td class="n">${bpb.toFixed(3)}</td><td></td><td></td></tr>` : ''}</table>`;
  const maps = files.map((f) => {
    const bits = f.surprisal ?? new Float32Array(0);
    const part = bits.length < f.bytes ? ` (the first ${bits.length} bytes, the model's context)` : '';
    return `<h3>${escapeHtml(f.name)}: ${f.bpb.toFixed(3)} bits per byte${part}</h3>${surprisalMap(f.data, bits)}`;
  });
  return `${table}${surprisalKey()}${maps.join('\n')}`;
}

/** A whole page of the report (`bgpt eval --html`). */
export function surprisalPage(files: ReportedFile[], bpb: number): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>bgpt: bits per byte</title>
<style>body{font:14px system-ui,sans-serif;margin:1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}.n{text-align:right}${SURPRISAL_CSS}</style></head>
<body><h1>Bits per byte</h1>${scoreReport(files, bpb)}</body></html>
`;
}
