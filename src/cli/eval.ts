/** `bgpt eval`: loss and bits per byte (generative, conversion) or accuracy (classification) of files. */
import type { Command } from 'commander';
import { conversionExamples, labelledExamples, parseConversion } from '../data/dataset.js';
import { listFiles } from '../data/files.js';
import { scoreConversions, type ConversionOutputs } from '../tasks/convert-eval.js';
import { evaluateClassifier, evaluateFiles, evaluatePairs, readInput } from '../tasks/eval.js';
import { surprisalPage } from '../tasks/surprisal-map.js';
import { writeFileAtomic } from '../util/atomic.js';
import { DEFAULT_MODEL_NOTE, addPrecisionOption, loadModel, num, precisionOf } from './options.js';
import { progressLine } from './progress.js';

const fmt = (x: number) => x.toFixed(4).padStart(8);

export function registerEval(program: Command): void {
  addPrecisionOption(program
    .command('eval')
    .description('score files: loss (nats per predicted byte) and bits per byte, or accuracy for a classifier')
    .option('-m, --model <weights>', `model: .safetensors, original .pth or bgpt checkpoint ${DEFAULT_MODEL_NOTE}`)
    .option('--convert <mode>', 'score conversion pairs "a->b" / "a&b" on the target part (default: the checkpoint\'s mode)')
    .option('--labels-from-folders', 'classification: the first folder below each path is the label')
    .option('--whole', 'score whole files through overlapping windows of the context (default: the head of each file, as the paper)')
    .option('--generate [n]', 'conversion: also convert the first n inputs (all without n) greedily and score the outputs: byte-identical share; for MIDI targets the shares that parse and play the reference notes, also with chunk lengths repaired; for MIDI → ABC the shares that abcjs reads and that play the source MIDI\'s notes')
    .option('--max-bytes <b>', 'with --generate: stop each output after this many bytes')
    .option('--json', 'print one JSON object')
    .option('--html <file>', 'generative models: also write a page with each file\'s bits per byte and its bytes shaded by the bits the model spent on each')
    .argument('<paths...>', 'files or folders (searched recursively, hidden files skipped)'))
    .action((paths: string[], opts: { precision?: string; whole?: boolean; model?: string; convert?: string; labelsFromFolders?: boolean; generate?: string | true; maxBytes?: string; json?: boolean; html?: string }) => {
      const precision = precisionOf(opts.precision);
      const files = listFiles(paths);
      const loaded = loadModel(opts.model, precision);
      const progress = progressLine('scoring');
      const onProgress = (d: number, t: number) => progress.update(`${d}/${t}`);
      if (opts.whole && (loaded.kind === 'classification' || opts.convert)) throw new Error('--whole scores files under a generative model (not a classifier or conversion pairs)');
      if (loaded.kind === 'classification') {
        const labels = loaded.task.labels;
        const ex = labelledExamples(paths, !!opts.labelsFromFolders, [...labels], true).examples.map((e) => ({ path: (e as { path: string }).path, label: (e as { label: number }).label }));
        const r = evaluateClassifier(loaded.model, ex, labels, onProgress);
        progress.done();
        if (opts.json) return console.log(JSON.stringify(r));
        for (const f of r.files) console.log(`${f.path}\t${f.label}\t→ ${f.predicted} (${(f.prob * 100).toFixed(1)}%)${f.label === f.predicted ? '' : '  ✗'}`);
        console.log(`accuracy ${(r.accuracy * 100).toFixed(2)}% (${r.files.length} files), loss ${r.loss.toFixed(4)}`);
        return;
      }
      const mode = opts.convert ?? (loaded.task.kind === 'conversion' ? loaded.task.mode : undefined);
      if (opts.generate && !mode) throw new Error('--generate scores conversions: give --convert or a conversion model');
      if (opts.html && mode) throw new Error('--html maps files under a generative model, not conversion pairs');
      if (!mode) {
        const r = evaluateFiles(loaded.model, files, { onProgress, whole: opts.whole, surprisal: !!opts.html });
        progress.done();
        if (opts.html) {
          writeFileAtomic(opts.html, Buffer.from(surprisalPage(r.files.map((f) => ({ ...f, name: f.path, data: readInput(f.path) })), r.bpb)));
          if (!opts.json) console.log(`${opts.html}: the surprisal map of ${r.files.length} files`);
        }
        if (opts.json) return console.log(JSON.stringify({ files: r.files.map(({ tokens: _t, ...f }) => f), loss: r.loss, bpb: r.bpb }));
        return printTable('file', r.files, r);
      }
      const pairs = conversionExamples(paths, parseConversion(mode)).map((e) => e as { input: string; target: string });
      const r = evaluatePairs(loaded.model, pairs, onProgress);
      progress.done();
      let outputs: ConversionOutputs | undefined;
      if (opts.generate) {
        const n = opts.generate === true ? pairs.length : num('--generate', opts.generate, { int: true, min: 1 });
        const maxBytes = opts.maxBytes === undefined ? undefined : num('--max-bytes', opts.maxBytes, { int: true, min: 1 });
        const conv = progressLine('converting');
        outputs = scoreConversions(loaded.model, pairs.slice(0, n), { maxBytes, onProgress: (d, t) => conv.update(`${d}/${t}`) });
        conv.done();
      }
      const source = { loss: r.source.loss, bpb: r.source.bpb };
      if (opts.json) {
        const files = r.files.map(({ tokens: _t, source: s, ...f }) => ({ ...f, source: { loss: s.loss, bpb: s.bpb } }));
        return console.log(JSON.stringify({ files, loss: r.loss, bpb: r.bpb, source, target: { loss: r.loss, bpb: r.bpb }, outputs }));
      }
      printTable(`target (${mode})`, r.files, r);
      console.log(`source part (input, target header): loss ${r.source.loss.toFixed(4)}, ${r.source.bpb.toFixed(4)} bits per byte; target part: loss ${r.loss.toFixed(4)}, ${r.bpb.toFixed(4)} bits per byte`);
      if (outputs) {
        const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
        const m = outputs.midi, a = outputs.abc;
        console.log(`${outputs.files} conversions (greedy): ${pct(outputs.bytes_equal)} byte-identical to the reference` +
          (m ? `; ${pct(m.parses)} parse as MIDI and ${pct(m.notes_match)} play the reference notes (${pct(m.parses_after_repair)} and ${pct(m.notes_match_after_repair)} with chunk lengths repaired), mean note F1 ${m.mean_note_f1.toFixed(3)}` : '') +
          (a ? `; ${pct(a.parses)} read as ABC tunes (${pct(a.parses_clean)} without warnings) and ${pct(a.notes_match)} play the source MIDI's notes, mean note F1 ${a.mean_note_f1.toFixed(3)}` : ''));
      }
    });
}

function printTable(head: string, files: { path: string; bytes: number; loss: number; bpb: number }[], total: { loss: number; bpb: number }): void {
  const w = Math.min(60, Math.max(4, ...files.map((f) => f.path.length)));
  console.log(`${head.padEnd(w)}  ${'bytes'.padStart(10)}  ${'loss'.padStart(8)}  ${'bpb'.padStart(8)}`);
  for (const f of files) console.log(`${f.path.padEnd(w)}  ${String(f.bytes).padStart(10)}  ${fmt(f.loss)}  ${fmt(f.bpb)}`);
  console.log(`${`total (${files.length} files)`.padEnd(w)}  ${String(files.reduce((a, f) => a + f.bytes, 0)).padStart(10)}  ${fmt(total.loss)}  ${fmt(total.bpb)}`);
}
