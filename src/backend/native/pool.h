// A team for decoding's matrix-vector products, apart from OpenMP's. Decoding calls them back to back, tens of
// microseconds each: an OpenMP region there costs a sleeping team's wake-up (OMP_WAIT_POLICY is passive, so
// that idle workers never starve a busy machine), which made two-thread decoding slower than one;
// and its end barrier waits for every worker, even one that found no free core. Here the caller never waits
// for a helper that has not started: the work is cut into chunks that any thread claims, so the caller takes
// them all when the helpers are late, and a helper spins only briefly after its last chunk before it sleeps.
// A helper that loses its core midway (another process) still holds the caller up, so after such a stall the
// caller runs alone for a while (pool.cc).
#pragma once

#include "common.h"

namespace bgpt {

using ChunkFn = void (*)(void* ctx, int chunk);

// Runs fn(ctx, c) once for every c in 0..chunks on the calling thread and up to threads − 1 helpers (started at
// the first call that asks for them); returns when all are done. With threads ≤ 1, or while another thread of
// the process is using the helpers, the calling thread runs every chunk. chunks < 65536.
void run_chunks(ChunkFn fn, void* ctx, int chunks, int threads);

}  // namespace bgpt
