/** `bgpt export`: a model or checkpoint of any supported kind → torch .pth, plain safetensors or our checkpoint. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { exportPth, exportSafetensors, type ExportDtype } from '../io/export.js';

type Format = 'pth' | 'safetensors' | 'checkpoint';

function formatOf(out: string, flag?: string): Format {
  if (flag !== undefined) {
    if (flag === 'pth' || flag === 'safetensors' || flag === 'checkpoint') return flag;
    throw new Error(`--format must be pth, safetensors or checkpoint, not "${flag}"`);
  }
  if (/\.(pth|pt|bin)$/i.test(out)) return 'pth';
  if (/\.safetensors$/i.test(out)) return 'safetensors';
  throw new Error(`${out}: cannot tell the format from the name (use .pth or .safetensors, or --format)`);
}

function dtypeOf(flag: string): ExportDtype {
  const d = flag.toUpperCase();
  if (d === 'F32' || d === 'F16' || d === 'BF16') return d;
  throw new Error(`--dtype must be f32, f16 or bf16, not "${flag}"`);
}

function readProvenance(path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${path}: provenance must be a JSON object`);
  return v as Record<string, unknown>;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('convert a model: .pth (loads into the original PyTorch bGPT), plain .safetensors, or our checkpoint')
    .argument('<in>', 'model or checkpoint (.pth, safetensors, or a bgpt checkpoint)')
    .argument('<out>', 'output file (.pth or .safetensors)')
    .option('--format <f>', 'pth | safetensors | checkpoint (default: from the output name)')
    .option('--dtype <t>', 'parameter type: f32, f16 or bf16 (pth and safetensors)', 'f32')
    .option('--provenance <file.json>', 'safetensors: keep this JSON object (how the model was made) in the metadata, shown by bgpt inspect')
    .option('--optimizer', 'pth: also write the AdamW state and schedule (optimizer, lr_sched) so the original train-*.py can resume')
    .option('--json', 'print one JSON object describing what was written')
    .action((input: string, out: string, opts: { format?: string; dtype: string; optimizer?: boolean; provenance?: string; json?: boolean }) => {
      const format = formatOf(out, opts.format), dtype = dtypeOf(opts.dtype);
      if (format === 'checkpoint' && dtype !== 'F32') throw new Error('a bgpt checkpoint is always f32 (drop --dtype)');
      if (opts.optimizer && format !== 'pth') throw new Error('--optimizer applies to .pth exports');
      if (opts.provenance && format !== 'safetensors') throw new Error('--provenance applies to .safetensors exports');
      const provenance = opts.provenance ? readProvenance(opts.provenance) : undefined;
      const ck = loadCheckpoint(input, { optimizer: format === 'checkpoint' || !!opts.optimizer });
      if (opts.optimizer && !ck.optimizer) throw new Error(`${input}: holds no optimizer state (only bgpt training checkpoints do)`);
      if (opts.optimizer && !ck.training?.schedule) throw new Error(`${input}: holds no schedule position to export with --optimizer`);
      try {
        if (format === 'pth') exportPth(out, ck, { dtype, optimizer: opts.optimizer });
        else if (format === 'safetensors') exportSafetensors(out, ck, { dtype, provenance });
        else saveCheckpoint(out, ck);
      } catch (e) {
        throw new Error(`${out}: ${(e as Error).message}`);
      }
      const info = { in: input, out, format, dtype: dtype.toLowerCase(), task: ck.task.kind, parameters: ck.layout.count(), optimizer: format !== 'safetensors' && !!ck.optimizer && (format === 'checkpoint' || !!opts.optimizer) };
      if (opts.json) console.log(JSON.stringify(info));
      else console.log(`wrote ${out} (${format}, ${info.dtype}, ${ck.task.kind}, ${info.parameters.toLocaleString('en-US')} parameters${info.optimizer ? ', with optimizer state' : ''})`);
    });
}
