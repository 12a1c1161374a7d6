/** `bgpt inspect`: what a model or checkpoint file holds (config, size, task, labels, training state). */
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { openTensorSource } from '../io/open.js';
import { PthSource } from '../io/pth/read-pth.js';
import { readWeights } from '../io/weights.js';
import { META } from '../io/meta.js';

export interface InspectResult {
  path: string;
  format: 'pth' | 'safetensors' | 'checkpoint';
  bytes: number;
  config: { patchSize: number; patchLength: number; hidden: number; patchLayers: number; byteLayers: number; heads: number };
  parameters: number;
  task: string;
  conversion?: string;
  labels?: string[];
  /** What a classifier reads of a longer file (absent: its head). */
  reads?: 'ends';
  /** Stored element types of the model's tensors, with counts. */
  dtypes: Record<string, number>;
  training?: Record<string, unknown>;
  optimizer?: Record<string, unknown> | 'torch state (not read)';
  /** How a shipped model was made (bgpt.provenance). */
  provenance?: Record<string, unknown>;
  /** bgpt version that wrote a checkpoint. */
  writtenBy?: string;
  /** Top-level keys of a torch checkpoint dict. */
  keys?: string[];
}

export function inspectFile(path: string): InspectResult {
  try {
    const src = openTensorSource(path);
    try {
      const w = readWeights(src);
      const dtypes: Record<string, number> = {};
      for (const s of w.layout.specs) {
        const d = src.tensors.get(s.name)!.dtype;
        dtypes[d] = (dtypes[d] ?? 0) + 1;
      }
      const r: InspectResult = {
        path, format: w.meta.format, bytes: statSync(path).size, config: { ...w.config }, parameters: w.layout.count(),
        task: w.task.kind, dtypes,
      };
      if (w.task.kind === 'conversion') r.conversion = w.task.mode;
      if (w.task.kind === 'classification') {
        r.labels = w.task.labels;
        if (w.task.reads === 'ends') r.reads = 'ends';
      }
      if (w.meta.training) {
        const { rng, extra, ...rest } = w.meta.training;
        r.training = { ...rest, ...(rng ? { rng: Object.keys(rng) } : {}), ...(extra ? { extra: Object.keys(extra) } : {}) };
        if (r.training.bestEvalLoss === Infinity) r.training.bestEvalLoss = null;
      }
      if (w.meta.optimizer) r.optimizer = { ...w.meta.optimizer };
      else if (w.meta.hasTorchOptimizer) r.optimizer = 'torch state (not read)';
      const prov = w.meta.metadata?.[META.provenance];
      if (prov !== undefined) {
        try {
          r.provenance = JSON.parse(prov) as Record<string, unknown>;
        } catch {
          throw new Error(`metadata ${META.provenance} is not valid JSON`);
        }
      }
      if (w.meta.metadata?.[META.version]) r.writtenBy = `bgpt ${w.meta.metadata[META.version]}`;
      if (src instanceof PthSource) r.keys = src.info.keys;
      return r;
    } finally {
      src.close();
    }
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(path) ? msg : `${path}: ${msg}`);
  }
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show what a model or checkpoint holds: format, config, parameter count, task, labels, training state')
    .argument('<checkpoint>', 'a .pth, safetensors or bgpt checkpoint file')
    .option('--json', 'print one JSON object')
    .action((path: string, opts: { json?: boolean }) => {
      const r = inspectFile(path);
      if (opts.json) {
        console.log(JSON.stringify(r));
        return;
      }
      const c = r.config;
      const lines: [string, string][] = [
        ['file', `${r.path} (${r.format}, ${r.bytes.toLocaleString('en-US')} bytes)`],
        ['config', `patch size ${c.patchSize}, patch length ${c.patchLength}, hidden ${c.hidden}, patch layers ${c.patchLayers}, byte layers ${c.byteLayers}, heads ${c.heads}`],
        ['parameters', r.parameters.toLocaleString('en-US')],
        ['dtypes', Object.entries(r.dtypes).map(([d, n]) => `${d} ×${n}`).join(', ')],
        ['task', r.task + (r.conversion ? ` (${r.conversion})` : '')],
      ];
      if (r.labels) lines.push(['labels', `${r.labels.length}: ${r.labels.slice(0, 20).join(', ')}${r.labels.length > 20 ? ', …' : ''}`]);
      if (r.labels) lines.push(['reads', r.reads === 'ends' ? 'a longer file\'s first and last bytes' : 'a longer file\'s first bytes']);
      if (r.training) lines.push(['training', Object.entries(r.training).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')]);
      if (r.optimizer) lines.push(['optimizer', typeof r.optimizer === 'string' ? r.optimizer : `AdamW step ${r.optimizer.step}, lr ${r.optimizer.lr}, betas ${r.optimizer.beta1}/${r.optimizer.beta2}, eps ${r.optimizer.eps}, weight decay ${r.optimizer.weightDecay}`]);
      if (r.writtenBy) lines.push(['written by', r.writtenBy]);
      for (const [k, v] of Object.entries(r.provenance ?? {})) lines.push([`made: ${k}`, typeof v === 'string' ? v : JSON.stringify(v)]);
      if (r.keys) lines.push(['keys', r.keys.join(', ')]);
      const w = Math.max(...lines.map(([k]) => k.length));
      for (const [k, v] of lines) console.log(`${k.padEnd(w)} ${v}`);
    });
}
