/**
 * `bgpt bench detect`: the detector against libmagic (`file --mime-type -b`) on labelled files (DIR/<label>/…,
 * as `bgpt data detect-set` writes them): accuracy overall and per label, what libmagic's answers map to
 * (LIBMAGIC_LABELS, docs/detect.md), a confusion picture for bgpt, and files per second of each, `file` taking
 * every path in one process as it does best.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GENERIC, detect } from '../api/detect.js';
import { readDetectInput } from '../data/files.js';
import type { BgptClassifier } from '../model/classifier.js';
import { escapeHtml } from '../util/html.js';

/** libmagic's MIME types → detector labels. A MIME type missing here cannot be mapped (listed in the result). */
export const LIBMAGIC_LABELS: Record<string, string> = {
  'text/plain': 'txt', 'application/octet-stream': 'unknown', 'inode/x-empty': 'unknown',
  'text/x-c': 'c', 'text/x-c++': 'cpp', 'text/x-script.python': 'python', 'text/x-python': 'python', 'text/x-perl': 'perl',
  'text/x-shellscript': 'shell', 'application/javascript': 'javascript', 'text/javascript': 'javascript', 'text/x-ruby': 'ruby',
  'text/x-php': 'php', 'text/x-lua': 'lua', 'text/x-makefile': 'makefile', 'text/x-m4': 'm4', 'text/troff': 'troff',
  'text/x-texinfo': 'texinfo', 'text/x-awk': 'awk', 'text/rust': 'rust', 'text/x-tcl': 'tcl', 'text/x-java': 'java',
  'text/x-diff': 'diff', 'text/x-po': 'po', 'text/x-tex': 'tex', 'text/html': 'html', 'text/xml': 'xml', 'application/xml': 'xml',
  'image/svg+xml': 'svg', 'application/json': 'json', 'text/csv': 'csv', 'application/gzip': 'gzip', 'application/x-xz': 'xz',
  'application/zstd': 'zstd', 'application/zip': 'zip', 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/gif': 'gif',
  'image/bmp': 'bmp', 'image/x-ms-bmp': 'bmp', 'audio/x-wav': 'wav', 'audio/ogg': 'ogg', 'application/pdf': 'pdf',
  'font/sfnt': 'ttf', 'application/x-font-ttf': 'ttf', 'font/otf': 'otf', 'application/x-sqlite3': 'sqlite',
  'application/x-pie-executable': 'elf', 'application/x-sharedlib': 'elf', 'application/x-executable': 'elf',
  'application/x-object': 'elf', 'application/x-gettext-translation': 'mo', 'application/pgp-keys': 'asc',
};

export interface ToolResult {
  correct: number;
  accuracy: number;
  seconds: number;
  files_per_s: number;
  /** Per true label: files and correct answers. */
  perLabel: Record<string, { files: number; correct: number }>;
}

export interface DetectBenchResult {
  files: number;
  labels: string[];
  bgpt: ToolResult & { threshold?: number };
  libmagic: (ToolResult & { version: string; unmapped: Record<string, number> }) | { skipped: string };
  /** bgpt's answers: confusion[true][answer] = files. */
  confusion: Record<string, Record<string, number>>;
}

function labelledFiles(dir: string): { path: string; label: string }[] {
  const out: { path: string; label: string }[] = [];
  for (const label of readdirSync(dir).sort()) {
    const d = join(dir, label);
    if (label.startsWith('.') || !statSync(d).isDirectory()) continue;
    for (const f of readdirSync(d).sort()) if (!f.startsWith('.')) out.push({ path: join(d, f), label });
  }
  if (!out.length) throw new Error(`${dir}: no labelled files (expected ${dir}/<label>/<files>, as bgpt data detect-set writes)`);
  return out;
}

function tally(truth: string[], answers: string[], seconds: number): ToolResult {
  const perLabel: ToolResult['perLabel'] = {};
  let correct = 0;
  truth.forEach((t, i) => {
    const e = (perLabel[t] ??= { files: 0, correct: 0 });
    e.files++;
    if (answers[i] === t) {
      e.correct++;
      correct++;
    }
  });
  return { correct, accuracy: correct / truth.length, seconds, files_per_s: Math.round(truth.length / seconds), perLabel };
}

export function benchDetect(model: BgptClassifier, labels: readonly string[], dir: string, opts: { threshold?: number } = {}): DetectBenchResult {
  const files = labelledFiles(dir), truth = files.map((f) => f.label);
  // bgpt: reading each file's head and the forward passes, the model already loaded
  let t0 = performance.now();
  const answers = detect(model, labels, files.map((f) => readDetectInput(f.path, model.cfg, model.reads)), { threshold: opts.threshold }).map((d) => d.label);
  const bgpt = { ...tally(truth, answers, (performance.now() - t0) / 1000), threshold: opts.threshold };
  const confusion: DetectBenchResult['confusion'] = {};
  truth.forEach((t, i) => {
    const row = (confusion[t] ??= {});
    row[answers[i]] = (row[answers[i]] ?? 0) + 1;
  });
  // libmagic: every path in one process, read from standard input
  let libmagic: DetectBenchResult['libmagic'];
  const version = spawnSync('file', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) libmagic = { skipped: 'file (libmagic) is not installed' };
  else {
    t0 = performance.now();
    const r = spawnSync('file', ['--mime-type', '-b', '-f', '-'], { input: files.map((f) => f.path).join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 28 });
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`file --mime-type failed: ${r.stderr.trim().split('\n')[0]}`);
    const mimes = r.stdout.trimEnd().split('\n'), unmapped: Record<string, number> = {};
    if (mimes.length !== files.length) throw new Error(`file answered ${mimes.length} lines for ${files.length} files`);
    const mapped = mimes.map((m) => {
      const l = LIBMAGIC_LABELS[m];
      if (l === undefined) unmapped[m] = (unmapped[m] ?? 0) + 1;
      return l ?? `(${m})`;
    });
    libmagic = { ...tally(truth, mapped, seconds), version: version.stdout.split('\n')[0], unmapped };
  }
  return { files: files.length, labels: [...labels], bgpt, libmagic, confusion };
}

/** The confusion picture as a page: rows the true label, columns bgpt's answer, cells shaded by row share. */
export function confusionPage(r: DetectBenchResult): string {
  const rows = Object.keys(r.confusion).sort();
  const cols = [...new Set([...rows, ...Object.values(r.confusion).flatMap((c) => Object.keys(c))])].sort((a, b) => {
    const g = (x: string) => (x === GENERIC.text || x === GENERIC.binary ? 1 : 0);
    return g(a) - g(b) || (a < b ? -1 : 1);
  });
  const cell = (t: string, a: string) => {
    const n = r.confusion[t][a] ?? 0, total = Object.values(r.confusion[t]).reduce((x, y) => x + y, 0), share = n / total;
    const bg = n === 0 ? '' : t === a ? `rgba(30,140,60,${0.15 + 0.85 * share})` : `rgba(200,40,40,${0.15 + 0.85 * share})`;
    return `<td style="background:${bg}" title="${escapeHtml(`${t} → ${a}: ${n} of ${total}`)}">${n || ''}</td>`;
  };
  return `<!doctype html><meta charset="utf-8"><title>bgpt detect: confusion</title>
<style>body{font:13px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 5px;text-align:right;min-width:1.6em}th.v{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left}th.r{text-align:left}</style>
<h1>bgpt detect on ${r.files} held-out files</h1>
<p>Rows: the true label (the corpus rule); columns: bgpt's answer. Accuracy ${(r.bgpt.accuracy * 100).toFixed(1)} %${'accuracy' in r.libmagic ? `; libmagic (${escapeHtml(r.libmagic.version)}) ${(r.libmagic.accuracy * 100).toFixed(1)} %` : ''}.</p>
<table><tr><th></th>${cols.map((c) => `<th class="v">${escapeHtml(c)}</th>`).join('')}<th>files</th><th>bgpt</th>${'perLabel' in r.libmagic ? '<th>libmagic</th>' : ''}</tr>
${rows.map((t) => {
    const b = r.bgpt.perLabel[t], m = 'perLabel' in r.libmagic ? r.libmagic.perLabel[t] : undefined;
    return `<tr><th class="r">${escapeHtml(t)}</th>${cols.map((a) => cell(t, a)).join('')}<td>${b.files}</td><td>${((b.correct / b.files) * 100).toFixed(0)} %</td>${m ? `<td>${((m.correct / m.files) * 100).toFixed(0)} %</td>` : ''}</tr>`;
  }).join('\n')}
</table>
`;
}
