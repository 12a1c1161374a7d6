/** Tiny models and a server on loopback for the serve tests. */
import { tsKernels } from '../src/backend/index.js';
import type { LoadedModel } from '../src/io/weights.js';
import { BgptModel } from '../src/model/bgpt.js';
import { BgptClassifier } from '../src/model/classifier.js';
import type { BgptConfig } from '../src/model/config.js';
import { BgptServer, type ServeOptions } from '../src/serve/server.js';
import { Rng } from '../src/util/rng.js';

export const CFG: BgptConfig = { patchSize: 4, patchLength: 24, hidden: 32, patchLayers: 2, byteLayers: 1, heads: 2 };
export const LABELS = ['bmp', 'txt', 'wav'];

export function tinyGenerative(seed = 1): LoadedModel & { kind: 'generative' } {
  return { kind: 'generative', task: { kind: 'generative' }, config: CFG, model: new BgptModel(tsKernels, CFG, { rng: new Rng(seed) }) };
}

export function tinyClassifier(seed = 2): LoadedModel & { kind: 'classification' } {
  return { kind: 'classification', task: { kind: 'classification', labels: LABELS }, config: CFG, model: new BgptClassifier(tsKernels, CFG, LABELS.length, { rng: new Rng(seed) }) };
}

export interface Running {
  url: string;
  server: BgptServer;
  close(): Promise<void>;
}

export async function serve(m: LoadedModel, opts: ServeOptions = {}): Promise<Running> {
  const server = new BgptServer(m, { port: 0, ...opts });
  const a = await server.listen();
  return { url: `http://127.0.0.1:${a.port}`, server, close: async () => void (await server.drain(0)) };
}

/** A decoder module (ServeOptions.decoderModule) whose streams never end (endless-decoder.ts). */
export const ENDLESS = new URL('./endless-decoder.ts', import.meta.url).href;

/** Polls until `f` is true (at most `ms`). */
export async function until(f: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The events of a server-sent-events body. */
export function sseEvents(text: string): { event: string; data: Record<string, unknown> }[] {
  return text.split('\n\n').filter((b) => b.trim()).map((b) => {
    const ev = /^event: (.*)$/m.exec(b)?.[1] ?? 'message';
    const data = /^data: (.*)$/m.exec(b)?.[1] ?? '{}';
    return { event: ev, data: JSON.parse(data) };
  });
}
