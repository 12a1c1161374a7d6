/// <reference types="@webgpu/types" />
/**
 * The GPU side of the WebGPU backend (src/backend/webgpu/kernels.ts), in its own worker: the model's worker
 * blocks on shared memory while this one uploads the operands, runs the product as a WGSL compute pass, waits
 * for the result with mapAsync and copies it back into shared memory. The weights stay in a GPU buffer.
 */
import { HEADER_BYTES, State, type GpuRequest, type Operand } from '../backend/webgpu/kernels.js';

/** What the model's worker asks first, and the answer: ready, or why not. */
export type GpuHello = { type: 'init' };
export type GpuReady = { type: 'ready'; error?: string };

/** Flags of a product (the `flags` field of Dims): the layout of B and where each operand lives. */
const TRANS_B = 1, A_PINNED = 2, B_PINNED = 4, BIAS = 8, BIAS_PINNED = 16, ACCUMULATE = 32;

/**
 * C = A·op(B) (+ bias) (+ C), two ways. `tiled`: a 64×64 tile of C per workgroup of 16×16 invocations, 4×4
 * outputs each, the tiles of A and B staged in workgroup memory 16 columns of K at a time. `rows`: one output
 * per invocation straight from memory, for the few rows of generation, where a tile would be mostly padding.
 * Which buffer each operand is in (the io buffer or the pinned weights) is a flag, not a pipeline constant:
 * each variant compiled would cost a shader compilation.
 */
const MATMUL = /* wgsl */ `
struct Dims { M: u32, K: u32, N: u32, a: u32, b: u32, bias: u32, c: u32, flags: u32 }
@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read_write> io: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;

fn flag(f: u32) -> bool { return (d.flags & f) != 0u; }

fn loadA(m: u32, k: u32) -> f32 {
  if (m >= d.M || k >= d.K) { return 0.0; }
  let i = d.a + m * d.K + k;
  if (flag(${A_PINNED}u)) { return w[i]; }
  return io[i];
}

fn loadB(k: u32, n: u32) -> f32 {
  if (k >= d.K || n >= d.N) { return 0.0; }
  var i = d.b + k * d.N + n;
  if (flag(${TRANS_B}u)) { i = d.b + n * d.K + k; }
  if (flag(${B_PINNED}u)) { return w[i]; }
  return io[i];
}

fn store(m: u32, n: u32, sum: f32) {
  var v = sum;
  if (flag(${BIAS}u)) {
    if (flag(${BIAS_PINNED}u)) { v += w[d.bias + n]; } else { v += io[d.bias + n]; }
  }
  let at = d.c + m * d.N + n;
  if (flag(${ACCUMULATE}u)) { v += io[at]; }
  io[at] = v;
}

var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;

@compute @workgroup_size(16, 16)
fn tiled(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let m0 = g.y * 64u;
  let n0 = g.x * 64u;
  let t = l.y * 16u + l.x;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < d.K; k0 += 16u) {
    for (var r = 0u; r < 4u; r++) {
      let e = t + r * 256u;
      As[e % 16u][e / 16u] = loadA(m0 + e / 16u, k0 + e % 16u);
      if (flag(${TRANS_B}u)) {
        Bs[e % 16u][e / 16u] = loadB(k0 + e % 16u, n0 + e / 16u);
      } else {
        Bs[e / 64u][e % 64u] = loadB(k0 + e / 64u, n0 + e % 64u);
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = As[kk][l.y * 4u + i];
        b[i] = Bs[kk][l.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] += a[i] * b[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      let m = m0 + l.y * 4u + i;
      let n = n0 + l.x * 4u + j;
      if (m < d.M && n < d.N) { store(m, n, acc[i][j]); }
    }
  }
}

@compute @workgroup_size(64)
fn rows(@builtin(global_invocation_id) id: vec3u) {
  let n = id.x;
  let m = id.y;
  if (n >= d.N) { return; }
  var s = 0.0;
  for (var k = 0u; k < d.K; k++) { s += loadA(m, k) * loadB(k, n); }
  store(m, n, s);
}
`;

/** Below this many rows a product runs `rows`, from this many `tiled`. */
const TILED_FROM = 16;

const scope = self as unknown as { onmessage: ((e: MessageEvent<GpuRequest | GpuHello>) => void) | null; postMessage(m: GpuReady): void };

let device: GPUDevice;
let kernels: Promise<{ tiled: GPUComputePipeline; rows: GPUComputePipeline }>;
let ctrl: Int32Array, data: Float32Array, shared: SharedArrayBuffer;
let weights: GPUBuffer, io: GPUBuffer | null = null, readback: GPUBuffer | null = null, dims: GPUBuffer;

async function init(): Promise<GpuReady> {
  if (!('gpu' in navigator)) return { type: 'ready', error: 'no navigator.gpu' };
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { type: 'ready', error: 'no adapter' };
  const { maxStorageBufferBindingSize, maxBufferSize } = adapter.limits;
  device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize, maxBufferSize } });
  const module = device.createShaderModule({ code: MATMUL });
  const compile = (entryPoint: string) => device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint } });
  kernels = Promise.all([compile('tiled'), compile('rows')]).then(([tiled, rows]) => ({ tiled, rows })); // awaited by the first product
  weights = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
  dims = device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  return { type: 'ready' };
}

/** A storage buffer of at least `bytes` (the old one while it is big enough). */
function sized(old: GPUBuffer | null, bytes: number, usage: number, what: string): GPUBuffer {
  if (old && old.size >= bytes) return old;
  const max = device.limits.maxStorageBufferBindingSize;
  if (bytes > max) throw new Error(`${what} needs ${bytes} bytes, more than this GPU binds (${max})`);
  old?.destroy();
  return device.createBuffer({ size: Math.min(max, Math.max(bytes, 2 * (old?.size ?? 0))), usage });
}

async function matmul(r: Extract<GpuRequest, { type: 'matmul' }>): Promise<void> {
  const { M, K, N, c } = r, out = M * N * 4, k = await kernels, tiled = M >= TILED_FROM, p = tiled ? k.tiled : k.rows;
  io = sized(io, Math.max(r.inputs, c + M * N) * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, 'a product');
  readback = readback && readback.size >= out ? readback : (readback?.destroy(), device.createBuffer({ size: Math.max(out, 2 * (readback?.size ?? 0)), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
  device.pushErrorScope('validation');
  if (r.inputs) device.queue.writeBuffer(io, 0, data as Float32Array<ArrayBuffer>, 0, r.inputs); // shared memory is allowed (AllowSharedBufferSource)
  const flags = (r.transB ? TRANS_B : 0) | (r.a.pinned ? A_PINNED : 0) | (r.b.pinned ? B_PINNED : 0) | (r.bias ? BIAS : 0)
    | (r.bias?.pinned ? BIAS_PINNED : 0) | (r.accumulate ? ACCUMULATE : 0);
  device.queue.writeBuffer(dims, 0, new Uint32Array([M, K, N, r.a.at, r.b.at, r.bias?.at ?? 0, c, flags]));
  const group = device.createBindGroup({
    layout: p.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: dims } }, { binding: 1, resource: { buffer: io } }, { binding: 2, resource: { buffer: weights } }],
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(p);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(Math.ceil(N / 64), tiled ? Math.ceil(M / 64) : M);
  pass.end();
  enc.copyBufferToBuffer(io, c * 4, readback, 0, out);
  device.queue.submit([enc.finish()]);
  const invalid = await device.popErrorScope();
  if (invalid) throw new Error(invalid.message);
  await readback.mapAsync(GPUMapMode.READ, 0, out);
  data.set(new Float32Array(readback.getMappedRange(0, out)), c);
  readback.unmap();
}

function pin(w: Float32Array): void {
  weights.destroy();
  weights = sized(null, Math.max(256, w.byteLength), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, 'the model\'s weights');
  device.queue.writeBuffer(weights, 0, w as Float32Array<ArrayBuffer>);
}

/** Answers the blocked model worker through the shared header. */
function answer(error?: string): void {
  if (error !== undefined) {
    const text = new TextEncoder().encode(error).subarray(0, HEADER_BYTES - 8);
    new Uint8Array(shared, 8, text.length).set(text);
    ctrl[1] = text.length;
  }
  Atomics.store(ctrl, 0, error === undefined ? State.Done : State.Failed);
  Atomics.notify(ctrl, 0);
}

let queue: Promise<unknown> = Promise.resolve();
scope.onmessage = (e) => {
  const req = e.data;
  queue = queue.then(async () => {
    if (req.type === 'init') {
      scope.postMessage(await init().catch((err: Error): GpuReady => ({ type: 'ready', error: err.message })));
      return;
    }
    if (req.type === 'memory') {
      shared = req.shared;
      ctrl = new Int32Array(shared, 0, 2);
      data = new Float32Array(shared, HEADER_BYTES);
    }
    try {
      if (req.type === 'pin') pin(req.weights);
      else if (req.type === 'matmul') await matmul(req);
      answer();
    } catch (err) {
      answer((err as Error).message);
    }
  });
};
