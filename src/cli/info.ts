/** `bgpt info`: version, backend, threads, oneDNN and CPU features. */
import type { Command } from 'commander';
import { cpus } from 'node:os';
import { getKernels, getNativeInfo, nativeLoadError } from '../backend/index.js';
import { VERSION } from '../version.js';
import { bf16Here } from './options.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show version, compute backend, threads and CPU features')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }) => {
      const k = getKernels();
      const n = getNativeInfo();
      const info = {
        version: VERSION,
        node: process.version,
        backend: k.name,
        threads: k.threads(),
        onednn: n?.onednn ?? null,
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        cpu_features: n?.cpu ?? [],
        native_error: n ? null : nativeLoadError(),
        // training with --precision bf16 needs bf16 hardware; bf16/f16 inference runs on any CPU
        bf16_training: bf16Here(false).ok,
        bf16_onednn: n?.bf16 || null,
        // --precision bf16-dot: few-row products on vdpbf16ps (the addon built with avx512_bf16), else emulated
        bf16_dot: n?.bf16Dot ?? false,
      };
      if (opts.json) {
        console.log(JSON.stringify(info));
        return;
      }
      console.log(`bgpt ${info.version} (node ${info.node})`);
      console.log(`backend   ${info.backend}${info.backend === 'ts' && info.native_error ? ` (native: ${info.native_error})` : ''}`);
      console.log(`threads   ${info.threads} of ${info.cores} cores`);
      console.log(`oneDNN    ${info.onednn ?? '-'}`);
      console.log(`cpu       ${info.cpu}`);
      console.log(`features  ${info.cpu_features.join(' ') || '-'}`);
      console.log(`bf16      ${info.bf16_training ? `training and inference (oneDNN ${info.bf16_onednn ?? '-'})` : 'inference only (16-bit weights, fp32 sums); training needs avx512_bf16 or AMX-BF16'}`);
      console.log(`bf16-dot  ${info.bf16_dot ? 'decoding\'s products on vdpbf16ps' : 'emulated (activations rounded, fp32 products): the addon has no avx512_bf16 build'}`);
    });
}
