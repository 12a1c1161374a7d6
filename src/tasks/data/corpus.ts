/**
 * `bgpt data corpus`: a corpus of real files from a fixed list of Debian packages (docs/corpus.md). Files come
 * from what dpkg says each package owns; each gets a type group and content type by rule (corpus-rules.ts);
 * duplicates by content are dropped; each package's share is capped; the held-out split is by package, so
 * no held-out file has a file of its own package in training. The manifest records every file, and a rebuild
 * over an existing corpus says what differs.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeAudio, fitAudio, PAPER_AUDIO } from '../../data/media/audio.js';
import { convertImage } from '../../data/media/image.js';
import { encodeWav } from '../../data/media/wav.js';
import { CORPUS_PACKAGES, GROUPS, ruleOf, type Group, type Rule } from './corpus-rules.js';

export const MANIFEST = 'manifest.tsv';
export const SUMMARY = 'corpus.json';
const COLUMNS = ['split', 'group', 'type', 'package', 'version', 'bytes', 'sha256', 'path', 'source'] as const;

/** The caps that keep any one package or file from dominating (docs/corpus.md states them). */
export const CAPS = {
  /** Largest corpus file (after gunzip or conversion); larger files are left out. */
  fileBytes: 512 * 1024,
  /** Files and bytes one package may give to one group. */
  packageGroupFiles: 300,
  packageGroupBytes: 3 * 1024 * 1024,
  /** Already-compressed files one package may give (they teach a byte model little). */
  packageCompressedFiles: 12,
  /** One-second clips cut from one sound file. */
  clipsPerSound: 8,
  /** Share of the packages held out (by a seeded hash of the package name). */
  heldOutShare: 0.12,
  /** Least share of each group's files held out, where its packages allow. */
  heldOutGroupShare: 0.06,
} as const;

export interface CorpusOptions {
  out: string;
  seed: number;
  packages?: readonly string[];
  /** Packages that are not installed are left out instead of stopping the build. */
  allowMissing?: boolean;
  onProgress?: (pkg: string, done: number, total: number) => void;
  warn?: (msg: string) => void;
}

export interface ManifestRow {
  split: 'train' | 'heldout';
  group: Group;
  type: string;
  package: string;
  version: string;
  bytes: number;
  sha256: string;
  /** Where the file is, relative to the corpus folder. */
  path: string;
  /** The Debian file it came from. */
  source: string;
}

export interface CorpusSummary {
  format: 1;
  seed: number;
  caps: typeof CAPS;
  packages: { name: string; version: string; split: 'train' | 'heldout'; files: number }[];
  missing: string[];
  groups: Record<string, { train: { files: number; bytes: number }; heldout: { files: number; bytes: number } }>;
  files: number;
  bytes: number;
  manifest_sha256: string;
}

export interface ManifestDiff {
  added: number;
  removed: number;
  changed: number;
  versions: string[];
}

/** A stable number in [0, 1) from the seed and a key (the same on every machine). */
export function seededUnit(seed: number, key: string): number {
  return createHash('sha256').update(`${seed}\0${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found (the corpus is built from Debian packages: run it on Debian or Ubuntu)' : r.error.message}`);
  return r.stdout;
}

/** Installed versions of the packages (absent: not installed). */
export function installedVersions(packages: readonly string[]): Map<string, string> {
  const out = run('dpkg-query', ['-W', '-f=${Package}\t${Version}\t${db:Status-Abbrev}\n', ...packages]);
  const v = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [name, version, status] = line.split('\t');
    if (name && status?.startsWith('ii')) v.set(name.replace(/:.*$/, ''), version);
  }
  return v;
}

/** Regular, non-hidden files a package owns, sorted. */
function packageFiles(pkg: string): string[] {
  const files: string[] = [];
  for (const p of run('dpkg-query', ['-L', pkg]).split('\n')) {
    if (!p.startsWith('/') || p.split('/').some((c) => c.startsWith('.'))) continue;
    try {
      if (lstatSync(p).isFile()) files.push(p);
    } catch {
      // listed but not on disk (excluded by dpkg's path-exclude, e.g. in slim images): not part of this corpus
    }
  }
  return files.sort();
}

function head(path: string): Uint8Array {
  const b = new Uint8Array(64);
  const fd = openSync(path, 'r');
  try {
    return b.subarray(0, readSync(fd, b, 0, b.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** The file as the corpus keeps it: name (below the package's folder) and bytes; several for sound clips. */
async function materialise(source: string, rule: Rule): Promise<{ rel: string; bytes: Uint8Array }[]> {
  const rel = source.slice(1);
  const raw = readFileSync(source);
  const stem = (r: string) => r.slice(0, r.lastIndexOf('.'));
  switch (rule.as) {
    case 'copy':
      return [{ rel, bytes: raw }];
    case 'gunzip':
      try {
        return [{ rel: rel.slice(0, -3), bytes: gunzipSync(raw, { maxOutputLength: CAPS.fileBytes }) }];
      } catch (e) {
        // past the cap: too large for the corpus, like any other large file
        if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return [];
        throw e;
      }
    case 'bmp':
      return [{ rel: `${stem(rel)}.bmp`, bytes: await convertImage(raw) }];
    case 'wav': {
      const a = await decodeAudio(raw);
      const per = a.sampleRate, clips: { rel: string; bytes: Uint8Array }[] = [];
      for (let k = 0; k < CAPS.clipsPerSound && k * per < a.channels[0].length; k++) {
        const part = { sampleRate: per, channels: a.channels.map((c) => c.subarray(k * per, (k + 1) * per)) };
        const samples = await fitAudio(part, PAPER_AUDIO);
        // silence (a clip past the end of the sound, or a pause) says nothing about sound
        if (samples.every((x) => Math.abs(x) < 2 / 128)) continue;
        clips.push({ rel: `${stem(rel)}-${k + 1}.wav`, bytes: encodeWav(samples, { sampleRate: PAPER_AUDIO.rate, channels: 1, bits: PAPER_AUDIO.bits }) });
      }
      return clips;
    }
  }
}

/** For icons drawn at several sizes, the one nearest 32 pixels stands for all (their 32×32 BMPs are near copies). */
function iconKey(source: string): { key: string; distance: number } {
  const m = /\/(\d+)x\d+(@\d+)?\//.exec(source);
  const name = source.slice(source.lastIndexOf('/') + 1);
  return { key: name.slice(0, name.lastIndexOf('.')), distance: m ? Math.abs(Number(m[1]) - 32) + (m[2] ? 1 : 0) : 1000 };
}

interface Candidate {
  source: string;
  rule: Rule;
}

/** A candidate taken into the corpus: its name below the package's folder, its bytes and their hash. */
interface Chosen extends Candidate {
  rel: string;
  bytes: Uint8Array;
  sha: string;
}

/** A package's candidate files, one list per group, each in the package's seeded order. */
function candidates(pkg: string, seed: number): Map<Group, Candidate[]> {
  const byGroup = new Map<Group, Candidate[]>();
  const icons = new Map<string, { c: Candidate; distance: number }>();
  const add = (c: Candidate) => {
    if (!byGroup.has(c.rule.group)) byGroup.set(c.rule.group, []);
    byGroup.get(c.rule.group)!.push(c);
  };
  for (const source of packageFiles(pkg)) {
    let h: Uint8Array;
    try {
      h = head(source);
    } catch {
      continue; // unreadable (permissions): not part of this corpus
    }
    const rule = ruleOf(source, h);
    if (!rule) continue;
    if (rule.as === 'bmp') {
      const { key, distance } = iconKey(source), seen = icons.get(key);
      if (!seen || distance < seen.distance) icons.set(key, { c: { source, rule }, distance });
      // the picture itself is also an example of already-compressed data
      const ext = source.slice(source.lastIndexOf('.') + 1).toLowerCase();
      if (ext !== 'bmp') add({ source, rule: { group: 'compressed', type: ext === 'jpg' ? 'jpeg' : ext, as: 'copy' } });
      continue;
    }
    if (rule.as === 'wav' && /\.(oga|ogg)$/i.test(source)) add({ source, rule: { group: 'compressed', type: 'ogg', as: 'copy' } });
    if (rule.as === 'gunzip') add({ source, rule: { group: 'compressed', type: 'gzip', as: 'copy' } });
    add({ source, rule });
  }
  for (const { c } of icons.values()) add(c);
  for (const list of byGroup.values()) {
    const order = new Map(list.map((c) => [c.source + c.rule.as, seededUnit(seed, `${pkg}\0${c.source}\0${c.rule.as}`)]));
    list.sort((a, b) => order.get(a.source + a.rule.as)! - order.get(b.source + b.rule.as)!);
  }
  return byGroup;
}

/**
 * Held-out packages: a seeded share by name; then, for each group held out too thinly (under
 * `heldOutGroupShare` of its files), more of that group's packages in seeded order, none that would take the
 * group past half its files or leave any group with no package in training.
 */
export function heldOutPackages(seed: number, filesOf: Map<string, Map<Group, number>>): Set<string> {
  const order = [...filesOf.keys()].sort((a, b) => seededUnit(seed, a) - seededUnit(seed, b));
  const held = new Set(order.filter((p) => seededUnit(seed, p) < CAPS.heldOutShare));
  const count = (g: Group, only?: Set<string>) => order.reduce((n, p) => n + (!only || only.has(p) ? filesOf.get(p)!.get(g) ?? 0 : 0), 0);
  const trainLeft = (g: Group, h: Set<string>) => order.some((p) => !h.has(p) && filesOf.get(p)!.has(g));
  for (const g of GROUPS) {
    const total = count(g);
    for (const p of order) {
      if (count(g, held) >= CAPS.heldOutGroupShare * total) break;
      if (held.has(p) || !filesOf.get(p)!.has(g)) continue;
      const next = new Set(held).add(p);
      if (count(g, next) > total / 2 || GROUPS.some((h) => count(h) > 0 && !trainLeft(h, next))) continue;
      held.add(p);
    }
  }
  // a seeded pick can still have taken a group's every package: give the last one back to training
  for (const g of GROUPS) {
    const having = order.filter((p) => filesOf.get(p)!.has(g));
    if (having.length && having.every((p) => held.has(p))) held.delete(having[having.length - 1]);
  }
  return held;
}

export function formatManifest(rows: ManifestRow[]): string {
  return `${COLUMNS.join('\t')}\n${rows.map((r) => COLUMNS.map((c) => String(r[c])).join('\t')).join('\n')}\n`;
}

export function parseManifest(text: string, path: string): ManifestRow[] {
  const lines = text.split('\n').filter((l) => l.length);
  if (lines[0] !== COLUMNS.join('\t')) throw new Error(`${path}: not a bgpt corpus manifest (its first line should name the columns ${COLUMNS.join(', ')})`);
  return lines.slice(1).map((l, i) => {
    const f = l.split('\t');
    if (f.length !== COLUMNS.length) throw new Error(`${path}: line ${i + 2} has ${f.length} fields, not ${COLUMNS.length}`);
    const row = Object.fromEntries(COLUMNS.map((c, j) => [c, f[j]])) as unknown as ManifestRow;
    row.bytes = Number(row.bytes);
    return row;
  });
}

export function readManifest(dir: string): ManifestRow[] {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) throw new Error(`${dir}: no ${MANIFEST} (not a corpus made by bgpt data corpus)`);
  return parseManifest(readFileSync(path, 'utf8'), path);
}

/** What differs between two manifests: files by path and content, and package versions. */
export function diffManifests(before: ManifestRow[], after: ManifestRow[]): ManifestDiff {
  const a = new Map(before.map((r) => [r.path, r])), b = new Map(after.map((r) => [r.path, r]));
  let added = 0, removed = 0, changed = 0;
  for (const [p, r] of b) {
    const o = a.get(p);
    if (!o) added++;
    else if (o.sha256 !== r.sha256 || o.split !== r.split) changed++;
  }
  for (const p of a.keys()) if (!b.has(p)) removed++;
  const va = new Map(before.map((r) => [r.package, r.version])), vb = new Map(after.map((r) => [r.package, r.version]));
  const versions = [...new Set([...va.keys(), ...vb.keys()])].sort()
    .filter((p) => va.get(p) !== vb.get(p))
    .map((p) => `${p} ${va.get(p) ?? '(absent)'} → ${vb.get(p) ?? '(absent)'}`);
  return { added, removed, changed, versions };
}

/** Packages whose version here differs from the one a corpus was built from ("name built → here"). */
export function versionDrift(rows: ManifestRow[]): string[] {
  const built = new Map(rows.map((r) => [r.package, r.version]));
  const here = installedVersions([...built.keys()]);
  return [...built].filter(([p, v]) => here.get(p) !== v).map(([p, v]) => `${p} ${v} → ${here.get(p) ?? 'not installed'}`);
}

/** Every file of a corpus is there with the bytes its manifest records: the list of what is not (empty: intact). */
export function verifyCorpus(dir: string): string[] {
  const bad: string[] = [];
  for (const r of readManifest(dir)) {
    const p = join(dir, r.path);
    let b: Buffer;
    try {
      b = readFileSync(p);
    } catch {
      bad.push(`${r.path}: missing`);
      continue;
    }
    if (b.length !== r.bytes || sha256(b) !== r.sha256) bad.push(`${r.path}: changed (${b.length} bytes, manifest says ${r.bytes})`);
  }
  return bad;
}

export interface CorpusResult {
  summary: CorpusSummary;
  /** Against the corpus that was in `out` before (null: there was none). */
  diff: ManifestDiff | null;
}

/**
 * Builds the corpus into `out` (a new folder, or one holding an earlier corpus, which is replaced only once the
 * new one is complete). Stops with one line when a package is missing, unless `allowMissing`.
 */
export async function buildCorpus(o: CorpusOptions): Promise<CorpusResult> {
  const packages = [...new Set(o.packages ?? CORPUS_PACKAGES)].sort();
  if (packages.length === 0) throw new Error('no packages to read');
  const versions = installedVersions(packages);
  const missing = packages.filter((p) => !versions.has(p));
  if (missing.length && !o.allowMissing) {
    throw new Error(`${missing.length} of the corpus's packages are not installed (${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ', …' : ''}); install them first: apt-get install --no-install-recommends $(bgpt data corpus --packages)`);
  }
  let before: ManifestRow[] | null = null;
  if (existsSync(o.out)) {
    if (!lstatSync(o.out).isDirectory()) throw new Error(`${o.out}: exists and is not a folder`);
    if (existsSync(join(o.out, MANIFEST))) before = readManifest(o.out);
    else if (readdirSync(o.out).length) throw new Error(`${o.out}: a folder that is not empty and holds no corpus; give a new or empty folder`);
  }

  // choose each package's files (capped, deduplicated in package order), holding their bytes until the split is known
  const present = packages.filter((p) => versions.has(p));
  const seen = new Set<string>();
  const chosen = new Map<string, Chosen[]>();
  const filesOf = new Map<string, Map<Group, number>>();
  for (const [i, pkg] of present.entries()) {
    o.onProgress?.(pkg, i, present.length);
    const files: Chosen[] = [];
    for (const [group, list] of candidates(pkg, o.seed)) {
      const maxFiles = group === 'compressed' ? CAPS.packageCompressedFiles : CAPS.packageGroupFiles;
      let n = 0, bytes = 0;
      for (const c of list) {
        if (n >= maxFiles || bytes >= CAPS.packageGroupBytes) break;
        let made;
        try {
          made = await materialise(c.source, c.rule);
        } catch (e) {
          o.warn?.(`${c.source}: left out (${(e as Error).message})`);
          continue;
        }
        for (const m of made) {
          if (m.bytes.length === 0 || m.bytes.length > CAPS.fileBytes || n >= maxFiles) continue;
          const sha = sha256(m.bytes);
          if (seen.has(sha)) continue;
          seen.add(sha);
          files.push({ rule: c.rule, source: c.source, rel: m.rel, bytes: m.bytes, sha });
          n++;
          bytes += m.bytes.length;
        }
      }
    }
    if (files.length) {
      chosen.set(pkg, files);
      const per = new Map<Group, number>();
      for (const f of files) per.set(f.rule.group, (per.get(f.rule.group) ?? 0) + 1);
      filesOf.set(pkg, per);
    }
  }
  o.onProgress?.('', present.length, present.length);

  const held = heldOutPackages(o.seed, filesOf);
  const tmp = `${o.out.replace(/\/+$/, '')}.building-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const rows: ManifestRow[] = [];
  try {
    for (const [pkg, files] of chosen) {
      const split = held.has(pkg) ? 'heldout' : 'train';
      for (const f of files) {
        const path = join(split, f.rule.group, pkg, f.rel);
        mkdirSync(dirname(join(tmp, path)), { recursive: true });
        writeFileSync(join(tmp, path), f.bytes);
        rows.push({ split, group: f.rule.group, type: f.rule.type, package: pkg, version: versions.get(pkg)!, bytes: f.bytes.length, sha256: f.sha, path, source: f.source });
      }
    }
    rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const manifest = formatManifest(rows);
    writeFileSync(join(tmp, MANIFEST), manifest);
    const summary = summarise(rows, o.seed, missing, sha256(Buffer.from(manifest)), held);
    writeFileSync(join(tmp, SUMMARY), `${JSON.stringify(summary, null, 1)}\n`);
    // the old corpus goes only once the new one is complete
    if (existsSync(o.out)) {
      const old = `${tmp}.old`;
      renameSync(o.out, old);
      renameSync(tmp, o.out);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(tmp, o.out);
    return { summary, diff: before && diffManifests(before, rows) };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

function summarise(rows: ManifestRow[], seed: number, missing: string[], manifestSha: string, held: Set<string>): CorpusSummary {
  const groups: CorpusSummary['groups'] = {};
  for (const g of GROUPS) groups[g] = { train: { files: 0, bytes: 0 }, heldout: { files: 0, bytes: 0 } };
  const perPackage = new Map<string, { version: string; files: number }>();
  for (const r of rows) {
    groups[r.group][r.split].files++;
    groups[r.group][r.split].bytes += r.bytes;
    const p = perPackage.get(r.package) ?? { version: r.version, files: 0 };
    p.files++;
    perPackage.set(r.package, p);
  }
  return {
    format: 1, seed, caps: CAPS,
    packages: [...perPackage].map(([name, p]) => ({ name, version: p.version, split: held.has(name) ? 'heldout' : 'train', files: p.files })),
    missing, groups, files: rows.length, bytes: rows.reduce((a, r) => a + r.bytes, 0), manifest_sha256: manifestSha,
  };
}
