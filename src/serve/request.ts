/**
 * Reading and checking requests. Everything a client sends is data: a body, an extension, sampling numbers.
 * Nothing names a file or a model. Every problem becomes an HttpError with one line of text.
 */
import type { IncomingMessage } from 'node:http';
import { checkSampling, type SamplingOptions } from '../model/sampling.js';

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/**
 * Bytes of request bodies the server holds at once, across requests: a body takes its bytes as they arrive and
 * gives them back when its request ends, so many concurrent large bodies cannot grow memory past `limit`.
 */
export class BodyBudget {
  held = 0;

  constructor(readonly limit: number) {}

  take(n: number): boolean {
    if (this.held + n > this.limit) return false;
    this.held += n;
    return true;
  }

  give(n: number): void {
    this.held -= n;
  }
}

/**
 * The request body, refused with 413 past `max` bytes (announced or sent) and with 503 when `budget` has no room
 * for it; `taken` counts what it holds of the budget (the caller gives it back when the request ends).
 */
export function readBody(req: IncomingMessage, max: number, budget?: BodyBudget, taken = { bytes: 0 }): Promise<Buffer> {
  const announced = req.headers['content-length'];
  if (announced !== undefined && Number(announced) > max) return Promise.reject(tooLarge(max));
  const room = (n: number) => {
    if (!budget) return true;
    if (!budget.take(n)) return false;
    taken.bytes += n;
    return true;
  };
  if (announced !== undefined && budget && budget.held + Number(announced) > budget.limit) return Promise.reject(busy(budget));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (e: Error) => {
      req.removeAllListeners('data');
      reject(e);
    };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) fail(tooLarge(max));
      else if (!room(c.length)) fail(busy(budget!));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', fail);
    req.on('aborted', () => fail(new HttpError(400, 'the request body was cut off')));
  });
}

function busy(b: BodyBudget): HttpError {
  return new HttpError(503, `the server holds ${b.held} bytes of request bodies, its limit is ${b.limit}; retry later`, { 'Retry-After': '1' });
}

function tooLarge(max: number): HttpError {
  return new HttpError(413, `the body is larger than the limit of ${max} bytes`);
}

const EXT = /^[A-Za-z0-9_+-]{0,32}$/;

function onlyParams(url: URL, allowed: string[]): void {
  for (const k of url.searchParams.keys()) if (!allowed.includes(k)) throw new HttpError(400, `unknown query parameter "${k.slice(0, 40)}"`);
}

/** A route that takes no query. */
export function noQuery(url: URL): void {
  onlyParams(url, []);
}

/** The query of a route that takes only `ext` (the file type; empty for none). */
export function extParam(url: URL): string {
  onlyParams(url, ['ext']);
  const all = url.searchParams.getAll('ext');
  if (all.length > 1) throw new HttpError(400, 'ext is given more than once');
  const ext = all[0] ?? '';
  if (!EXT.test(ext)) throw new HttpError(400, 'ext must be up to 32 letters, digits, "_", "+" or "-"');
  return ext;
}

/** The query of /v1/detect: an optional `threshold` in [0, 1] (below it the answer is generic). */
export function thresholdParam(url: URL): number | undefined {
  onlyParams(url, ['threshold']);
  const all = url.searchParams.getAll('threshold');
  if (all.length > 1) throw new HttpError(400, 'threshold is given more than once');
  if (!all.length) return undefined;
  const t = Number(all[0]);
  if (all[0].trim() === '' || !(t >= 0 && t <= 1)) throw new HttpError(400, 'threshold must be a number from 0 to 1');
  return t;
}

export interface GenerateRequest {
  ext: string;
  prompt: Uint8Array;
  maxBytes: number;
  sampling: SamplingOptions;
  seed: number;
  stream: boolean;
}

const FIELDS = ['ext', 'prompt_base64', 'max_bytes', 'top_k', 'top_p', 'temperature', 'seed', 'stream'];
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function field<T>(o: Record<string, unknown>, name: string, kind: 'string' | 'number' | 'boolean', fallback: T): T {
  const v = o[name];
  if (v === undefined) return fallback;
  if (typeof v !== kind) throw new HttpError(400, `${name} must be a ${kind}`);
  return v as T;
}

function integer(o: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const v = field(o, name, 'number', fallback);
  if (!Number.isInteger(v) || v < min || v > max) throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}`);
  return v;
}

/**
 * A generation request: `{ext, prompt_base64, max_bytes, top_k, top_p, temperature, seed, stream}`, every
 * field optional (max_bytes defaults to the server's limit, the seed to a random one).
 */
export function parseGenerate(body: Buffer, limits: { maxBytes: number }, randomSeed: () => number): GenerateRequest {
  let o: unknown;
  try {
    o = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new HttpError(400, 'the body must be a JSON object');
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!FIELDS.includes(k)) throw new HttpError(400, `unknown field "${k.slice(0, 40)}" (known: ${FIELDS.join(', ')})`);
  const ext = field(r, 'ext', 'string', '');
  if (!EXT.test(ext)) throw new HttpError(400, 'ext must be up to 32 letters, digits, "_", "+" or "-"');
  const b64 = field(r, 'prompt_base64', 'string', '');
  if (!BASE64.test(b64)) throw new HttpError(400, 'prompt_base64 is not valid base64');
  const sampling = {
    topK: integer(r, 'top_k', 0, 0, 256),
    topP: field(r, 'top_p', 'number', 1),
    temperature: field(r, 'temperature', 'number', 1),
  };
  try {
    checkSampling(sampling);
  } catch (e) {
    throw new HttpError(400, (e as Error).message.replace('-', '_'));
  }
  return {
    ext,
    prompt: Buffer.from(b64, 'base64'),
    maxBytes: integer(r, 'max_bytes', limits.maxBytes, 1, limits.maxBytes),
    sampling,
    seed: r.seed === undefined ? randomSeed() : integer(r, 'seed', 0, 0, 2 ** 32 - 1),
    stream: field(r, 'stream', 'boolean', false),
  };
}
