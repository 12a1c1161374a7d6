/** Pictures of media files as SVG (a MIDI piano roll, a WAV waveform), for the gallery and the page. */
import type { Note } from '../data/media/midi.js';
import { readWavInfo } from '../data/media/wav.js';

const PITCH = ['C', 'C♯', 'D', 'D♯', 'E', 'F', 'F♯', 'G', 'G♯', 'A', 'A♯', 'B'];

/** Notes as an SVG piano roll: time across, pitch up, one colour per channel. */
export function pianoRoll(notes: Note[], width = 360): string {
  if (!notes.length) return '<div class="warn">no notes</div>';
  const lo = Math.min(...notes.map((n) => n.pitch)) - 1, hi = Math.max(...notes.map((n) => n.pitch)) + 1;
  const end = Math.max(...notes.map((n) => n.start + n.duration), 1e-9), rowH = Math.max(2, Math.min(6, Math.floor(120 / (hi - lo + 1))));
  const height = (hi - lo + 1) * rowH, sx = width / end;
  const colours = ['#3465a4', '#cc0000', '#4e9a06', '#75507b', '#c4a000', '#ce5c00'];
  const rects = notes.map((n) => {
    const title = `${PITCH[n.pitch % 12]}${Math.floor(n.pitch / 12) - 1} at beat ${+n.start.toFixed(3)}, ${+n.duration.toFixed(3)} beats`;
    return `<rect x="${(n.start * sx).toFixed(1)}" y="${(hi - n.pitch) * rowH}" width="${Math.max(1, n.duration * sx - 0.5).toFixed(1)}" height="${rowH}" fill="${colours[n.channel % colours.length]}"><title>${title}</title></rect>`;
  });
  const beats = [];
  for (let b = 0; b <= end; b += 4) beats.push(`<line x1="${(b * sx).toFixed(1)}" x2="${(b * sx).toFixed(1)}" y1="0" y2="${height}" stroke="#eee"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" style="background:#fafafa;border:1px solid #eee;display:block">${beats.join('')}${rects.join('')}</svg>`;
}

/** The waveform of an 8- or 16-bit PCM WAV (first channel) as an SVG of min/max bars. */
export function waveform(b: Uint8Array, width = 260, height = 48): string {
  let info;
  try {
    info = readWavInfo(b);
  } catch {
    return '';
  }
  if (info.format !== 1 || (info.bits !== 8 && info.bits !== 16)) return '';
  const block = info.channels * (info.bits / 8), n = Math.floor(Math.min(info.dataBytes, b.length - info.dataOffset) / block);
  if (n <= 0) return '';
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const at = (i: number) => (info.bits === 8 ? (b[info.dataOffset + i * block] - 128) / 128 : v.getInt16(info.dataOffset + i * block, true) / 32768);
  const bars: string[] = [];
  for (let x = 0; x < width; x++) {
    const a = Math.floor((x * n) / width), z = Math.max(a + 1, Math.floor(((x + 1) * n) / width));
    let lo = 1, hi = -1;
    for (let i = a; i < z; i++) {
      const s = at(i);
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
    bars.push(`M${x + 0.5} ${((1 - hi) * height / 2).toFixed(1)}V${((1 - lo) * height / 2 + 0.5).toFixed(1)}`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" style="display:block;background:#fafafa"><path d="${bars.join('')}" stroke="#3465a4" stroke-width="1"/></svg>`;
}
