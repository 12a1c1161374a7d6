/** `bgpt web`: the browser app as a static site (--out DIR), and/or served on 127.0.0.1 (--serve). */
import type { Command } from 'commander';
import { serveDir, siteDir, writeSite } from '../tasks/site.js';
import { num } from './options.js';

export function registerWeb(program: Command): void {
  program
    .command('web')
    .description('the browser app (score, classify and generate in the page, nothing uploaded): write it as a static site and/or serve it on 127.0.0.1')
    .option('--out <dir>', 'write the site (index.html, scripts, WebAssembly kernels) into this folder')
    .option('--serve', 'serve the site (the --out folder, with any files you put beside it) on 127.0.0.1')
    .option('--port <n>', 'port to serve on (0: any free port)', '8090')
    .action(async (o: { out?: string; serve?: boolean; port: string }) => {
      if (!o.out && !o.serve) throw new Error('web needs --out DIR, --serve or both');
      const port = num('--port', o.port, { int: true, min: 0, max: 65535 });
      if (o.out) {
        const files = writeSite(o.out);
        console.log(`${o.out}: ${files.join(', ')}`);
      }
      if (o.serve) {
        const { url } = await serveDir(o.out ?? siteDir(), port);
        console.log(`serving ${url} (Ctrl-C stops)`);
      }
    });
}
