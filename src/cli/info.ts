/** `bgpt info`: version, backend, threads, oneDNN and CPU features. */
import type { Command } from 'commander';
import { cpus } from 'node:os';
import { getKernels, getNativeInfo, nativeLoadError } from '../backend/index.js';
import { VERSION } from '../version.js';

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
    });
}
