/**
 * One static HTML page showing files side by side: images, audio players (with a waveform), MIDI as a piano
 * roll, ABC and other text as text, anything else as hex. Files with the same name (path without extension)
 * share a row, one column per folder, so inputs, references and generated or converted files line up; a MIDI
 * file in a later column is compared note by note with the first column's. Files are embedded as data URIs
 * (one portable file) or linked relative to the page; generated BMP / WAV files whose header is off are shown
 * repaired (and marked so).
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { walkFiles } from '../data/files.js';
import { escapeHtml } from '../util/html.js';
import { pianoRoll, waveform } from './media-views.js';
import { extensionOf } from '../data/patches.js';
import { compareNotes, midiNotes, type Note } from '../data/media/midi.js';
import { repairMedia } from '../data/media/repair.js';

export interface GalleryOptions {
  /** Folders (or files); each is a column. */
  dirs: string[];
  /** Where the page goes (links are relative to its folder). */
  out: string;
  /** Link files instead of embedding them. */
  link?: boolean;
  /** Most rows shown (default 500). */
  maxRows?: number;
  title?: string;
}

export interface GalleryResult {
  html: string;
  rows: number;
  files: number;
  repaired: number;
  /** Rows left out past maxRows. */
  omitted: number;
}

const IMAGE: Record<string, string> = { bmp: 'image/bmp', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' };
const AUDIO: Record<string, string> = { wav: 'audio/wav', mp3: 'audio/mpeg', ogg: 'audio/ogg', oga: 'audio/ogg', opus: 'audio/ogg', flac: 'audio/flac' };
const TEXT = new Set(['abc', 'txt', 'csv', 'json', 'md', 'xml', 'html', 'htm', 'py', 'js', 'ts', 'c', 'h', 'log', 'ini', 'yaml', 'yml', 'tsv']);

/** Natural order: "2" before "10". */
const collator = new Intl.Collator('en', { numeric: true });

export function buildGallery(o: GalleryOptions): GalleryResult {
  const outAbs = resolve(o.out), maxRows = o.maxRows ?? 500;
  const columns = o.dirs.map((d) => {
    const files = new Map<string, string[]>();
    for (const f of walkFiles([d])) {
      if (resolve(f) === outAbs) continue;
      const rel = relative(d, f) || f.split(/[\\/]/).pop()!;
      const ext = extensionOf(rel), key = (ext ? rel.slice(0, -(ext.length + 1)) : rel).split(sep).join('/');
      if (!files.has(key)) files.set(key, []);
      files.get(key)!.push(f);
    }
    return { dir: d, files };
  });
  const keys = [...new Set(columns.flatMap((c) => [...c.files.keys()]))].sort(collator.compare);
  const shown = keys.slice(0, maxRows);
  let files = 0, repaired = 0;
  const cell = (paths: string[] | undefined, refNotes: Note[] | null): { html: string; notes: Note[] | null } => {
    if (!paths) return { html: '', notes: null };
    let notes: Note[] | null = null;
    const items = paths.sort(collator.compare).map((p) => {
      files++;
      const r = renderFile(p, outAbs, !!o.link, refNotes);
      if (r.repaired) repaired++;
      if (r.notes && !notes) notes = r.notes;
      return r.html;
    });
    return { html: items.join(''), notes };
  };
  const rows = shown.map((key) => {
    let ref: Note[] | null = null;
    const cells = columns.map((c, i) => {
      const r = cell(c.files.get(key), i === 0 ? null : ref);
      if (i === 0) ref = r.notes;
      return r.html;
    });
    // one folder: a grid of cards; several: a table with a column per folder
    if (columns.length === 1) return `<div class="card">${cells[0]}</div>`;
    return `<tr><th class="key">${escapeHtml(key)}</th>${cells.map((c) => (c ? `<td>${c}</td>` : '<td class="none">—</td>')).join('')}</tr>`;
  });
  const title = o.title ?? `bgpt gallery: ${o.dirs.join(', ')}`;
  const head = `<tr><th></th>${columns.map((c) => `<th>${escapeHtml(c.dir)}</th>`).join('')}</tr>`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:6px;vertical-align:top;text-align:left}
th.key{font-weight:normal;font-family:monospace;white-space:nowrap}td.none{color:#bbb;text-align:center}
.item{display:inline-block;margin:0 8px 4px 0;vertical-align:top}.name{font:11px monospace;color:#666}
img{image-rendering:pixelated;width:128px;min-height:32px;display:block;border:1px solid #eee}
pre{margin:0;max-width:36em;max-height:20em;overflow:auto;background:#f7f7f7;padding:4px;font-size:12px;white-space:pre-wrap}
.grid{display:flex;flex-wrap:wrap;gap:8px}.card{border:1px solid #ddd;padding:6px}
.ok{color:#080}.bad{color:#b00}.warn{color:#a60}audio{display:block;width:260px}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>${keys.length} rows, ${files} files${repaired ? `, ${repaired} shown with a repaired header` : ''}${keys.length > shown.length ? `; the first ${shown.length} rows are shown` : ''}.</p>
${columns.length === 1 ? `<div class="grid">\n${rows.join('\n')}\n</div>` : `<table>${head}\n${rows.join('\n')}\n</table>`}
</body></html>
`;
  return { html, rows: shown.length, files, repaired, omitted: keys.length - shown.length };
}

function renderFile(path: string, outAbs: string, link: boolean, refNotes: Note[] | null): { html: string; repaired: boolean; notes?: Note[] } {
  const ext = extensionOf(path).toLowerCase(), name = path.split(/[\\/]/).pop()!;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    return { html: item(name, `<span class="bad">cannot read: ${escapeHtml((e as Error).message)}</span>`), repaired: false };
  }
  const href = (mime: string, b: Uint8Array, forceEmbed: boolean) =>
    link && !forceEmbed ? escapeHtml(relative(dirname(outAbs), resolve(path)).split(sep).map(encodeURIComponent).join('/')) : `data:${mime};base64,${Buffer.from(b).toString('base64')}`;
  if (IMAGE[ext] || AUDIO[ext]) {
    const fix = repairMedia(bytes, ext);
    if (fix === null && (ext === 'bmp' || ext === 'wav')) return { html: item(name, `<span class="bad">not a ${ext.toUpperCase()} file</span>${hex(bytes)}`), repaired: false };
    const b = fix?.changed ? fix.bytes : bytes, note = fix?.changed ? '<div class="warn">header repaired</div>' : '';
    if (IMAGE[ext]) return { html: item(name, `<img src="${href(IMAGE[ext], b, !!fix?.changed)}" alt="${escapeHtml(name)}">${note}`), repaired: !!fix?.changed };
    return { html: item(name, `<audio controls preload="none" src="${href(AUDIO[ext], b, !!fix?.changed)}"></audio>${ext === 'wav' ? waveform(b) : ''}${note}`), repaired: !!fix?.changed };
  }
  if (ext === 'mid' || ext === 'midi') {
    let notes: Note[];
    try {
      notes = midiNotes(bytes).notes;
    } catch (e) {
      return { html: item(name, `<span class="bad">${escapeHtml((e as Error).message)}</span>`), repaired: false };
    }
    let verdict = '';
    if (refNotes) {
      const m = compareNotes(refNotes, notes);
      verdict = m.exact ? '<div class="ok">same notes as the first column</div>' : `<div class="warn">note F1 ${m.f1.toFixed(3)} against the first column</div>`;
    }
    const dl = link ? '' : ` <a download="${escapeHtml(name)}" href="${href('audio/midi', bytes, true)}">download</a>`;
    return { html: item(name, `${pianoRoll(notes)}<div class="name">${notes.length} notes${dl}</div>${verdict}`), repaired: false, notes };
  }
  const text = Buffer.from(bytes).toString('utf8');
  if (TEXT.has(ext) || isText(bytes)) return { html: item(name, `<pre>${escapeHtml(text.length > 4000 ? `${text.slice(0, 4000)}\n…` : text)}</pre>`), repaired: false };
  return { html: item(name, hex(bytes)), repaired: false };
}

function item(name: string, body: string): string {
  return `<div class="item"><div class="name">${escapeHtml(name)}</div>${body}</div>`;
}

function isText(b: Uint8Array): boolean {
  const n = Math.min(b.length, 2048);
  let bad = 0;
  for (let i = 0; i < n; i++) if (b[i] < 9 || (b[i] > 13 && b[i] < 32) || b[i] === 127) bad++;
  return bad <= n * 0.01;
}

function hex(b: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < Math.min(b.length, 256); i += 16) lines.push(Array.from(b.subarray(i, i + 16), (x) => x.toString(16).padStart(2, '0')).join(' '));
  return `<pre>${lines.join('\n')}${b.length > 256 ? `\n… ${b.length} bytes` : ''}</pre>`;
}
