/** `bgpt serve`: the model behind an HTTP API; SIGTERM (or Ctrl-C) drains and exits 0. */
import type { Command } from 'commander';
import { BgptServer, DEFAULT_LIMITS } from '../serve/server.js';
import { modelPathOr } from '../io/default-model.js';
import { DEFAULT_MODEL_NOTE, num } from './options.js';

interface ServeFlags {
  model?: string;
  host: string;
  port: string;
  token?: string;
  maxBody: string;
  maxBodies: string;
  maxQueue: string;
  maxBatch: string;
  maxBytes: string;
  timeLimit: string;
  grace: string;
}

export function registerServe(program: Command): void {
  const d = DEFAULT_LIMITS;
  program
    .command('serve')
    .description('serve a model over HTTP: /v1/score, /v1/classify, /v1/detect, /v1/generate, /v1/compress, /v1/decompress, /healthz, /metrics')
    .option('-m, --model <weights>', `the model: .safetensors, original .pth or bgpt checkpoint ${DEFAULT_MODEL_NOTE}`)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', '8080')
    .option('--token <t>', 'require "Authorization: Bearer <t>" on every route but /healthz (default: $BGPT_TOKEN)')
    .option('--max-body <bytes>', 'largest request body', String(d.maxBody))
    .option('--max-bodies <bytes>', 'bytes of request bodies held at once over all requests (503 beyond)', String(d.maxBodies))
    .option('--max-queue <n>', 'most requests queued or computing, a generation until it decodes (429 beyond)', String(d.maxQueue))
    .option('--max-batch <n>', 'most streams decoded together / bodies per forward', String(d.maxBatch))
    .option('--max-bytes <n>', 'largest max_bytes of a generation', String(d.maxBytes))
    .option('--time-limit <s>', 'seconds a request may take, queue included (504 beyond)', String(d.timeLimitMs / 1000))
    .option('--grace <s>', 'seconds in-flight requests get to finish after SIGTERM', '10')
    .action(async (o: ServeFlags) => {
      const limits = {
        maxBody: num('--max-body', o.maxBody, { int: true, min: 1 }),
        maxBodies: num('--max-bodies', o.maxBodies, { int: true, min: 1 }),
        maxQueue: num('--max-queue', o.maxQueue, { int: true, min: 1 }),
        maxBatch: num('--max-batch', o.maxBatch, { int: true, min: 1 }),
        maxBytes: num('--max-bytes', o.maxBytes, { int: true, min: 1 }),
        timeLimitMs: num('--time-limit', o.timeLimit, { min: 0.001 }) * 1000,
      };
      const port = num('--port', o.port, { int: true, min: 0, max: 65535 });
      const graceMs = num('--grace', o.grace, { min: 0 }) * 1000;
      const onWorkerExit = (e: Error) => {
        // a server that cannot compute should be restarted by its supervisor, not left answering 503
        process.stderr.write(`bgpt serve: ${e.message}; exiting\n`);
        process.exit(1);
      };
      const server = new BgptServer({ path: modelPathOr(o.model) }, { host: o.host, port, token: o.token ?? process.env.BGPT_TOKEN, limits, onWorkerExit });
      const a = await server.listen();
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      console.log(JSON.stringify({ listening: `http://${host}:${a.port}`, task: server.model.kind, pid: process.pid }));
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`bgpt serve: ${signal}: no new requests; ${server.inFlight} in flight get up to ${graceMs / 1000} s\n`);
        void server.drain(graceMs).then(({ unfinished }) => {
          process.stderr.write(`bgpt serve: stopped${unfinished ? ` (${unfinished} requests cut off at the grace period)` : ''}\n`);
          process.exit(0);
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
