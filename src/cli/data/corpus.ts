import type { Command } from 'commander';
import { CORPUS_PACKAGES, GROUPS } from '../../tasks/data/corpus-rules.js';
import { buildCorpus, readManifest, verifyCorpus, versionDrift } from '../../tasks/data/corpus.js';
import { batchHooks, seedOf } from './common.js';

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

export function registerCorpus(data: Command): void {
  data
    .command('corpus')
    .description('a corpus of real files from a fixed list of Debian packages, split by package into OUT/train and OUT/heldout, with a manifest (docs/corpus.md)')
    .option('--out <dir>', 'output folder (an earlier corpus there is replaced once the new one is complete, and the differences are listed)')
    .option('--seed <n>', 'seed of the file choice and the held-out split', '0')
    .option('--only <packages>', 'comma-separated subset of the package list (for a quick corpus)')
    .option('--allow-missing', 'leave out packages that are not installed instead of stopping')
    .option('--packages', 'print the package list (for apt-get install) and exit')
    .option('--verify <dir>', 'check that every file of a corpus has the bytes its manifest records, and exit')
    .action(async (o: { out?: string; seed: string; only?: string; allowMissing?: boolean; packages?: boolean; verify?: string }) => {
      if (o.packages) return console.log(CORPUS_PACKAGES.join(' '));
      if (o.verify) {
        const bad = verifyCorpus(o.verify);
        if (bad.length) throw new Error(`${o.verify}: ${bad.length} files differ from the manifest (first: ${bad[0]})`);
        console.log(`${o.verify}: every file matches the manifest`);
        // a corpus built elsewhere is still whole; a rebuild here would differ where the packages do
        const drift = versionDrift(readManifest(o.verify));
        if (drift.length) console.log(`built from other package versions than this machine has (a rebuild here differs): ${drift.join('; ')}`);
        return;
      }
      if (!o.out) throw new Error('--out <dir> is required (or --packages, --verify)');
      let only: string[] | undefined;
      if (o.only) {
        only = o.only.split(',').map((s) => s.trim()).filter(Boolean);
        const unknown = only.filter((p) => !CORPUS_PACKAGES.includes(p));
        if (unknown.length) throw new Error(`--only: not in the corpus's package list: ${unknown.join(', ')} (see bgpt data corpus --packages)`);
      }
      const hooks = batchHooks('reading packages');
      const { summary, diff } = await buildCorpus({
        out: o.out, seed: seedOf(o.seed), packages: only, allowMissing: !!o.allowMissing,
        onProgress: (pkg, d, t) => hooks.progress.update(`${d}/${t} ${pkg}`), warn: hooks.warn,
      });
      hooks.progress.done();
      const held = summary.packages.filter((p) => p.split === 'heldout').map((p) => p.name);
      console.log(`wrote ${summary.files} files (${mb(summary.bytes)}) from ${summary.packages.length} packages to ${o.out}; held out: ${held.join(', ') || 'none'}`);
      if (summary.missing.length) console.log(`not installed, left out: ${summary.missing.join(', ')}`);
      console.log(`${'group'.padEnd(14)} ${'train files'.padStart(11)} ${'train'.padStart(9)} ${'held files'.padStart(10)} ${'held'.padStart(9)}`);
      for (const g of GROUPS) {
        const s = summary.groups[g];
        console.log(`${g.padEnd(14)} ${String(s.train.files).padStart(11)} ${mb(s.train.bytes).padStart(9)} ${String(s.heldout.files).padStart(10)} ${mb(s.heldout.bytes).padStart(9)}`);
      }
      console.log(`manifest sha256 ${summary.manifest_sha256}`);
      if (diff) {
        const same = !diff.added && !diff.removed && !diff.changed && !diff.versions.length;
        console.log(same ? 'the same corpus as before (identical manifest)' : `against the corpus that was there: ${diff.added} files added, ${diff.removed} removed, ${diff.changed} changed${diff.versions.length ? `; package versions: ${diff.versions.join('; ')}` : ''}`);
      }
    });
}
