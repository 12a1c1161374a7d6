/** `bgpt bench serve`: load benchmark of `bgpt serve` on loopback (JSON lines). */
import type { Command } from 'commander';
import { SERVE_CONFIGS, benchServe, type LoadRoute } from '../serve/bench.js';
import { num } from './options.js';

const ROUTES: LoadRoute[] = ['generate', 'score'];

export function registerBenchServe(bench: Command): void {
  bench
    .command('serve')
    .description('load-test bgpt serve on 127.0.0.1: N clients for a fixed time per route (JSON lines)')
    .option('-m, --model <weights>', 'model to serve (default: random weights of --config)')
    .option('--config <name>', `random weights of config ${Object.keys(SERVE_CONFIGS).join(', ')} (m: 27 M parameters)`, 'b')
    .option('--route <names>', 'generate, score (comma-separated)', 'generate,score')
    .option('--clients <list>', 'concurrent clients, one run each (comma-separated)', '1,16')
    .option('--duration <s>', 'seconds per run', '10')
    .option('--max-bytes <n>', 'max_bytes of each generate request', '256')
    .option('--body-bytes <n>', 'bytes of each score body (default: what fills the context)')
    .option('--max-batch <n>', 'the server\'s --max-batch', '16')
    .option('--background-score', 'one more client scoring a whole context over and over during every run')
    .action(async (o: { model?: string; config: string; route: string; clients: string; duration: string; maxBytes: string; bodyBytes?: string; maxBatch: string; backgroundScore?: boolean }) => {
      const routes = o.route.split(',').map((s) => s.trim()) as LoadRoute[];
      for (const r of routes) if (!ROUTES.includes(r)) throw new Error(`unknown --route "${r}" (generate or score)`);
      const clients = o.clients.split(',').map((s) => num('--clients', s, { int: true, min: 1, max: 1024 }));
      const maxBatch = num('--max-batch', o.maxBatch, { int: true, min: 1 });
      await benchServe({
        model: o.model, config: o.config, routes, clients,
        durationS: num('--duration', o.duration, { min: 1 }),
        maxBytes: num('--max-bytes', o.maxBytes, { int: true, min: 1 }),
        bodyBytes: o.bodyBytes === undefined ? undefined : num('--body-bytes', o.bodyBytes, { int: true, min: 0 }),
        backgroundScore: o.backgroundScore,
        serveArgs: ['--max-batch', String(maxBatch), '--max-queue', String(Math.max(64, ...clients)), '--time-limit', '300'],
      }, (r) => console.log(JSON.stringify(r)));
    });
}
