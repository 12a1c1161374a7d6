/** Loss curves as a self-contained SVG: training loss (smoothed), evaluation loss and accuracy per step. */
export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  /** Plot on the right axis (0..1), e.g. accuracy. */
  right?: boolean;
  dots?: boolean;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function ticks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1, step0 = span / n, mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(+v.toPrecision(12));
  return out;
}

export function renderSvg(title: string, xLabel: string, yLabel: string, series: Series[], rightLabel?: string): string {
  const W = 800, H = 450, m = { l: 70, r: rightLabel ? 70 : 20, t: 40, b: 55 };
  const left = series.filter((s) => !s.right).flatMap((s) => s.points);
  const all = series.flatMap((s) => s.points);
  if (!all.length) throw new Error('nothing to plot');
  const x0 = Math.min(...all.map((p) => p[0])), x1 = Math.max(...all.map((p) => p[0]));
  const y0 = Math.min(0, ...left.map((p) => p[1])), y1 = Math.max(...left.map((p) => p[1]), 1e-9);
  const X = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const YR = (y: number) => H - m.b - y * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
  ];
  for (const t of ticks(y0, y1)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${Y(t)}" y2="${Y(t)}" stroke="#eee"/>`, `<text x="${m.l - 6}" y="${Y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  for (const t of ticks(x0, x1, 8)) parts.push(`<text x="${X(t)}" y="${H - m.b + 18}" text-anchor="middle">${t}</text>`);
  if (rightLabel) for (const t of [0, 0.25, 0.5, 0.75, 1]) parts.push(`<text x="${W - m.r + 6}" y="${YR(t) + 4}">${t}</text>`);
  parts.push(
    `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`,
    `<text x="${W / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  if (rightLabel) parts.push(`<text transform="translate(${W - 14} ${H / 2}) rotate(90)" text-anchor="middle">${esc(rightLabel)}</text>`);
  series.forEach((s, i) => {
    const f = s.right ? YR : Y;
    const pts = s.points.map(([x, y]) => `${X(x).toFixed(1)},${f(y).toFixed(1)}`);
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.6" points="${pts.join(' ')}"/>`);
    if (s.dots || pts.length === 1) for (const p of pts) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${s.color}"/>`);
    parts.push(`<rect x="${m.l + 12}" y="${m.t + 8 + i * 18}" width="12" height="3" fill="${s.color}"/>`, `<text x="${m.l + 30}" y="${m.t + 13 + i * 18}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Reads a training log (JSON lines) into plot series. */
export function seriesFromLog(lines: string[], path: string): { series: Series[]; accuracy: boolean } {
  const steps: [number, number][] = [], evals: [number, number][] = [], acc: [number, number][] = [], trainAcc: [number, number][] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let r: { type?: string; step?: number; loss?: number; accuracy?: number };
    try {
      r = JSON.parse(line);
    } catch {
      throw new Error(`${path}:${i + 1}: not a JSON line`);
    }
    if (r.type === 'step' && typeof r.step === 'number' && typeof r.loss === 'number') {
      steps.push([r.step, r.loss]);
      if (typeof r.accuracy === 'number') trainAcc.push([r.step, r.accuracy]);
    } else if (r.type === 'eval' && typeof r.step === 'number' && typeof r.loss === 'number') {
      evals.push([r.step, r.loss]);
      if (typeof r.accuracy === 'number') acc.push([r.step, r.accuracy]);
    }
  });
  if (!steps.length && !evals.length) throw new Error(`${path}: no training steps or evaluations in this log`);
  // exponential moving average of the training loss: raw per-step losses are noisy
  let ema = NaN;
  const smooth = steps.map(([x, y]): [number, number] => [x, (ema = Number.isNaN(ema) ? y : 0.95 * ema + 0.05 * y)]);
  const series: Series[] = [{ name: 'train loss (smoothed)', color: '#1f77b4', points: smooth }];
  if (evals.length) series.push({ name: 'eval loss', color: '#d62728', points: evals, dots: true });
  if (acc.length) series.push({ name: 'eval accuracy', color: '#2ca02c', points: acc, right: true, dots: true });
  return { series, accuracy: acc.length > 0 };
}
