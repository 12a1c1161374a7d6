/**
 * The messages between the server's HTTP thread and its compute worker (worker_threads, structured clone).
 * The HTTP thread keeps the queue limits, deadlines and responses; the worker holds the model and runs the
 * scheduler's turns, so a long forward never delays a health check.
 */
import type { StopReason } from '../api/generate.js';
import type { Precision } from '../io/weights.js';
import type { BgptConfig } from '../model/config.js';
import type { HalfType } from '../backend/types.js';
import type { ModelKind, Task } from '../model/task.js';
import type { StreamSpec } from './decoder.js';
import type { FileInput } from './files.js';

/** Whether the bytes fill their own ArrayBuffer: then the buffer can move between threads instead of being copied. */
export function fillsBuffer(b: Uint8Array): b is Uint8Array<ArrayBuffer> {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer;
}

/** Where the worker gets its model: a file it reads itself, or the tensors of a model already loaded (copied). */
export type ModelSpec =
  | { path: string; precision?: Precision | 'auto' }
  | { config: BgptConfig; task: Task; params: Float32Array; half?: { dtype: HalfType; data: Uint16Array; bf16Activations?: boolean } };

export interface WorkerInit {
  model: ModelSpec;
  /** The backend by name ('ts' or 'native'): the worker computes on the same one as the caller chose. */
  backend: string;
  maxBatch: number;
  /** A module whose `createDecoder(model, capacity)` makes the generation decoder (default: BatchedStreams). */
  decoderModule?: string;
}

/** What the HTTP thread knows of the model: enough to check requests and describe the server. */
export interface ModelInfo {
  kind: ModelKind;
  task: Task;
  config: BgptConfig;
  parameters: number;
  backend: string;
}

/** A job that runs alone in a scheduler turn: its bytes travel to the worker and back. */
export type AloneSpec = { op: 'compress'; bytes: Uint8Array; ext: string } | { op: 'decompress'; bytes: Uint8Array };

/** An error as it crosses threads; `status` when it is an HTTP answer (HttpError). */
export interface WireError {
  message: string;
  status?: number;
  headers?: Record<string, string>;
}

export type ToWorker =
  | { t: 'file'; key: number; input: FileInput }
  /** `ms`: time left before the request's deadline, measured on the worker's own clock from arrival. */
  | { t: 'alone'; key: number; job: AloneSpec; ms: number }
  | { t: 'generate'; key: number; spec: StreamSpec }
  | { t: 'cancel'; key: number }
  | { t: 'abort'; error: WireError };

/** What happened in one scheduler turn, sent as one message. */
export type WorkerEvent =
  | { t: 'done'; key: number; value: unknown }
  | { t: 'error'; key: number; error: WireError }
  | { t: 'joined'; key: number }
  | { t: 'byte'; key: number; byte: number }
  | { t: 'end'; key: number; stop: StopReason }
  | { t: 'batch'; kind: 'generate' | 'files'; n: number }
  | { t: 'generated'; n: number };

export type FromWorker = { t: 'ready'; info: ModelInfo } | { t: 'failed'; error: WireError } | { t: 'events'; events: WorkerEvent[] };
