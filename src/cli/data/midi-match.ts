import type { Command } from 'commander';
import { midiMatch } from '../../tasks/data/midi-match.js';

export function registerMidiMatch(data: Command): void {
  data
    .command('midi-match')
    .description('compare converted MIDI files with the references of the same name: parse rate and note match (also after rewriting chunk lengths)')
    .argument('<converted>', 'folder of converted .mid files')
    .argument('<reference>', 'folder with the reference .mid files (same names)')
    .option('--json', 'print one JSON object')
    .action((converted: string, reference: string, o: { json?: boolean }) => {
      const { summary: s, rows } = midiMatch(converted, reference);
      if (o.json) return console.log(JSON.stringify({ ...s, rows }));
      for (const r of rows) {
        const notes = r.f1 === 1 ? 'notes match' : `note F1 ${r.f1.toFixed(3)}`;
        console.log(`${r.file}\t${r.parses ? notes : `does not parse: ${r.error}${r.repaired ? `; with chunk lengths repaired: ${notes}` : ''}`}${r.bytesEqual ? ' (byte-identical)' : ''}`);
      }
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
      console.log(`${s.files} files: ${pct(s.parses)} parse as MIDI and ${pct(s.notes_match)} play the reference notes (${pct(s.parses_after_repair)} and ${pct(s.notes_match_after_repair)} with chunk lengths repaired), ${pct(s.bytes_equal)} byte-identical, mean note F1 ${s.mean_note_f1.toFixed(3)}`);
    });
}
