/** `bgpt gallery`: one static HTML page showing images, audio, MIDI and text files side by side. */
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { buildGallery } from '../tasks/gallery.js';
import { writeFileAtomic } from '../util/atomic.js';
import { num } from './options.js';

export function registerGallery(program: Command): void {
  program
    .command('gallery')
    .description('write one HTML page (no server needed) showing the files of folders side by side: images, audio players, MIDI piano rolls, ABC and text')
    .argument('<dirs...>', 'folders (one column each; files with the same name share a row) or files')
    .option('--out <file.html>', 'the page (default: DIR/gallery.html for the first folder)')
    .option('--link', 'link the files relative to the page instead of embedding them')
    .option('--max <rows>', 'most rows to show', '500')
    .option('--title <text>', 'page title')
    .action((dirs: string[], o: { out?: string; link?: boolean; max: string; title?: string }) => {
      const maxRows = num('--max', o.max, { int: true, min: 1 });
      let out = o.out;
      if (!out) {
        let isDir = false;
        try {
          isDir = statSync(dirs[0]).isDirectory();
        } catch {
          // the walk below names the missing path
        }
        out = isDir ? join(dirs[0], 'gallery.html') : 'gallery.html';
      }
      const r = buildGallery({ dirs, out, link: !!o.link, maxRows, title: o.title });
      writeFileAtomic(out, Buffer.from(r.html, 'utf8'));
      console.log(`${out}: ${r.rows} rows, ${r.files} files${r.repaired ? ` (${r.repaired} BMP/WAV headers repaired for display)` : ''}${r.omitted ? `; ${r.omitted} more rows left out (--max)` : ''}`);
    });
}
