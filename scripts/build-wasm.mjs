// Rebuilds src/backend/wasm/kernels.wasm from matmul.cc with clang + lld (Debian: apt-get install -y clang lld).
// The built module is checked in, so installing and testing never need clang; run this after editing the C++.
// Usage: node scripts/build-wasm.mjs [OUT.wasm]   (default: the checked-in src/backend/wasm/kernels.wasm)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'backend', 'wasm');
const args = [
  '--target=wasm32', '-O3', '-msimd128', '-mbulk-memory', '-nostdlib', '-fno-exceptions',
  '-Wl,--no-entry', '-Wl,--export=__heap_base', '-Wl,--strip-all',
  '-o', process.argv[2] ?? join(dir, 'kernels.wasm'), join(dir, 'matmul.cc'),
];
const clang = process.env.CLANG ?? 'clang';
const r = spawnSync(clang, args, { stdio: 'inherit' });
if (r.error) {
  console.error(`build-wasm: ${clang} not found (apt-get install -y clang lld); the checked-in kernels.wasm is unchanged`);
  process.exit(1);
}
process.exit(r.status ?? 1);
