#!/usr/bin/env node
// Builds the native backend (build/Release/bgpt_native.node) with node-gyp. This is the package's install
// script, so it never fails the install: when the build cannot be done (no compiler, no libdnnl-dev, …) it
// prints one warning line and exits 0, and bgpt runs on its TypeScript backend.
//   node scripts/build-native.mjs [--verbose]     (npm run build:native passes --verbose)
//   BGPT_SKIP_NATIVE=1       skip the build
//   BGPT_ARCH_FLAGS="..."    compiler flags for the target CPU (default -march=native when the compiler takes it)
//   --sanitize=address,undefined (or thread)   a sanitizer build (docs/performance.md "Memory safety"): -O1 -g
//                            with the sanitizers; loading it needs their runtime preloaded (scripts/sanitize.sh)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const verbose = process.argv.includes('--verbose');
const sanitize = process.argv.find((a) => a.startsWith('--sanitize='))?.slice('--sanitize='.length) ?? '';
if (sanitize && !/^(address|undefined|thread)(,(address|undefined|thread))*$/.test(sanitize)) {
  console.error(`bgpt: --sanitize takes address, undefined or thread (comma-separated), not "${sanitize}"`);
  process.exit(1);
}
/** The sanitizers' runtime libraries, which a process must preload to load a sanitized addon. */
function sanitizerRuntimes() {
  const cxx = process.env.CXX || 'c++';
  const libs = sanitize.split(',').filter(Boolean).map((s) => ({ address: 'libasan.so', undefined: 'libubsan.so', thread: 'libtsan.so' })[s]);
  return libs.map((l) => spawnSync(cxx, [`-print-file-name=${l}`], { encoding: 'utf8' }).stdout.trim()).join(' ');
}
const logFile = path.join(root, 'build', 'native-build.log');
const addon = path.join(root, 'build', 'Release', 'bgpt_native.node');
// the rebuild command that works where this copy is: a dependency (npm rebuild) or a clone (bgpt is the root
// package there, which npm rebuild skips)
const REBUILD = root.split(path.sep).includes('node_modules') ? 'npm rebuild bgpt' : `npm run build:native (in ${root})`;
const HOWTO = `For the fast one: apt-get install -y g++ make python3 libdnnl-dev, then ${REBUILD}`;

function warn(reason, logged = true) {
  const log = logged ? ` (build log: ${path.relative(process.cwd(), logFile) || logFile})` : '';
  if (sanitize) {
    // asked for by name: a failure is an error, not a fallback
    console.error(`bgpt: the sanitizer build failed (${reason})${log}`);
    process.exit(1);
  }
  console.warn(`bgpt: native backend not built (${reason}); using the slower TypeScript backend${log}. ${HOWTO}`);
  process.exit(0);
}

/** node-gyp's entry script: npm's own (npm sets npm_config_node_gyp for lifecycle scripts), else a local one. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) {
    candidates.push(path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  try {
    candidates.push(createRequire(path.join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch { /* not installed locally */ }
  const npm = spawnSync(process.platform === 'win32' ? 'where' : 'which', ['npm'], { encoding: 'utf8' });
  const npmBin = npm.status === 0 ? npm.stdout.split('\n')[0].trim() : '';
  if (npmBin) {
    try {
      const npmRoot = path.resolve(path.dirname(realpathSync(npmBin)), '..');
      candidates.push(path.join(npmRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    } catch { /* ignore */ }
  }
  candidates.push(path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => existsSync(c));
}

/** Flags for the target CPU: -march=native when the compiler accepts it (the addon is built where it runs). */
function archFlags() {
  if (process.env.BGPT_ARCH_FLAGS !== undefined) return process.env.BGPT_ARCH_FLAGS;
  const cxx = process.env.CXX || 'c++';
  const r = spawnSync(cxx, ['-march=native', '-x', 'c++', '-fsyntax-only', '-'], { input: '', encoding: 'utf8' });
  return r.status === 0 ? '-march=native' : '';
}

/** Runs a command, keeping its output for the log (and showing it with --verbose). */
function run(cmd, args, env) {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (stream) => (d) => {
      out += d;
      if (verbose) stream.write(d);
    };
    child.stdout.on('data', keep(process.stdout));
    child.stderr.on('data', keep(process.stderr));
    child.on('error', (e) => resolve({ code: -1, out: out + `\n${e.message}\n` }));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** A short reason for the warning line, guessed from the build log. */
function reasonFrom(log) {
  if (/dnnl\.h: No such file|cannot find -ldnnl|dnnl\.h' file not found/.test(log)) return 'libdnnl-dev missing?';
  if (/napi\.h: No such file|node-addon-api/.test(log) && /No such file|Cannot find module/.test(log)) return 'node-addon-api missing?';
  if (/(c\+\+|g\+\+|cc): (command )?not found|not found: (make|c\+\+|g\+\+)|No such file or directory.*(c\+\+|g\+\+)|spawn (make|g\+\+|c\+\+) ENOENT/.test(log)) return 'no C++ compiler or make?';
  if (/gyp ERR! find Python|Could not find any Python/.test(log)) return 'python3 missing?';
  if (/omp\.h: No such file|cannot find -lgomp/.test(log)) return 'OpenMP (libgomp) missing?';
  if (/node_api\.h: No such file|getaddrinfo|ENOTFOUND|network/i.test(log)) return 'Node headers unavailable?';
  return 'build failed';
}

async function main() {
  if (process.env.BGPT_SKIP_NATIVE === '1') {
    console.warn('bgpt: native backend build skipped (BGPT_SKIP_NATIVE=1); using the TypeScript backend.');
    return;
  }
  const gyp = findNodeGyp();
  if (!gyp) warn('node-gyp not found', false);

  const env = { ...process.env, BGPT_ARCH_FLAGS: archFlags() };
  // -O1 keeps the reports' stacks readable; the arch flags stay, so the same kernels (AVX-512, bf16) run
  if (sanitize) env.BGPT_SANITIZE_FLAGS = `-fsanitize=${sanitize} -fno-omit-frame-pointer -g -O1`;
  const args = [gyp, 'rebuild', '--jobs=max'];
  // Use the running Node's own headers when it ships them (distro and nvm installs do): no download.
  if (!env.npm_config_nodedir) {
    const prefix = path.resolve(path.dirname(process.execPath), '..');
    if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  }
  const { code, out } = await run(process.execPath, args, env);
  let log = `$ ${process.execPath} ${args.join(' ')}\nBGPT_ARCH_FLAGS=${env.BGPT_ARCH_FLAGS}\n\n${out}`;

  let version = '';
  if (code === 0 && existsSync(addon)) {
    // Load it in a child process: the build can succeed and the load still fail (libdnnl missing at run time).
    const probe = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(addon)}).info().onednn)`], {
      encoding: 'utf8',
      env: sanitize ? { ...process.env, LD_PRELOAD: sanitizerRuntimes(), ASAN_OPTIONS: 'detect_leaks=0' } : process.env,
    });
    if (probe.status === 0) version = probe.stdout.trim();
    else log += `\nloading the addon failed:\n${probe.stderr}`;
  }
  mkdirSync(path.dirname(logFile), { recursive: true });
  writeFileSync(logFile, log);
  if (code !== 0 || !existsSync(addon)) warn(reasonFrom(log));
  if (!version) warn('the built addon does not load');
  console.log(`bgpt: native backend built (oneDNN ${version})${sanitize ? `, with -fsanitize=${sanitize}: preload ${sanitizerRuntimes()}` : ''}`);
}

main().catch((e) => {
  try {
    mkdirSync(path.dirname(logFile), { recursive: true });
    writeFileSync(logFile, String(e?.stack ?? e));
  } catch { /* ignore */ }
  warn(`unexpected error: ${e?.message ?? e}`);
});
