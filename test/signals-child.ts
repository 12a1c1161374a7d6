/**
 * Child process of native-signals.test.ts: matrix products through oneDNN for `seconds` while the parent runs
 * it under the V8 CPU profiler, whose SIGPROF samples interrupt them. Prints "ok <calls>" if it survives.
 */
import { loadNative } from '../src/backend/native/index.js';

const loaded = loadNative();
if ('error' in loaded) throw new Error(loaded.error);
const k = loaded.kernels, seconds = Number(process.argv[2] ?? 1);
const M = 2000, K = 128, N = 512;
const A = new Float32Array(M * K).fill(0.5), B = new Float32Array(K * N).fill(0.25);
const C = new Float32Array(M * N), dW = new Float32Array(K * N);
let calls = 0;
for (const end = Date.now() + seconds * 1000; Date.now() < end; calls += 2) {
  k.matmul(C, A, B, null, M, K, N, false, false, false);
  k.matmul(dW, A, C, null, K, M, N, true, false, true); // the weight-gradient orientation
}
if (C[0] !== 0.5 * 0.25 * K) throw new Error(`wrong product ${C[0]}`);
console.log(`ok ${calls}`);
