/** Messages between the page and the worker that runs the model. */

export type BackendName = 'ts' | 'wasm' | 'webgpu';

export interface SamplingRequest {
  topK: number;
  topP: number;
  temperature: number;
}

export type Request =
  | { type: 'load'; model: Blob | string; name: string; backend: BackendName | 'auto' }
  | { type: 'score'; files: { name: string; data: Blob | string }[] }
  | { type: 'classify'; files: { name: string; data: Blob | string }[] }
  | { type: 'detect'; files: { name: string; data: Blob | string }[] }
  | { type: 'generate'; ext: string; seed: number; maxBytes: number; sampling: SamplingRequest }
  | { type: 'bench'; what: 'matmul' | 'gen' }
  | { type: 'check' };

export interface ModelInfo {
  name: string;
  format: string;
  task: 'generative' | 'classification';
  labels?: string[];
  config: { patchSize: number; patchLength: number; hidden: number; patchLayers: number; byteLayers: number; heads: number };
  params: number;
  backend: BackendName;
  /** With backend auto: the GFLOP/s of each backend by which it was chosen. */
  measured?: Partial<Record<BackendName, number>>;
  /** The torch checkpoint holds an optimizer state, which was not read. */
  skippedOptimizer: boolean;
  seconds: number;
  /** Bytes of the file read to load the model, and its size. */
  bytesRead: number;
  fileBytes: number;
}

/** A scored file: with each byte's surprisal (bits) over the part the model read, and those bytes. */
export interface Score { name: string; loss: number; bpb: number; bytes: number; surprisal: Float32Array; head: Uint8Array }
export interface ClassResult { name: string; label: string; probs: Record<string, number> }
export interface Detected { name: string; label: string; p: number; top: { label: string; p: number }[] }
export interface BenchRow { backend: string; what: string; value: number; unit: string; shape: string }
/** A backend's product against the TypeScript one: max |difference| / max |reference|. */
export interface CheckRow { backend: string; product: string; error: number }

export type Reply =
  | { type: 'ready'; backends: BackendName[]; wasmError?: string; webgpu: string }
  | { type: 'loaded'; info: ModelInfo }
  | { type: 'progress'; done: number; total: number; what: string }
  | { type: 'partial'; bytes: Uint8Array }
  | { type: 'scored'; files: Score[]; loss: number; bpb: number; backend: BackendName }
  | { type: 'classified'; files: ClassResult[]; backend: BackendName }
  | { type: 'detected'; files: Detected[]; backend: BackendName }
  | { type: 'generated'; ext: string; bytes: Uint8Array; stop: string; backend: BackendName; seconds: number }
  | { type: 'bench'; rows: BenchRow[] }
  | { type: 'checked'; rows: CheckRow[] }
  | { type: 'error'; message: string };
