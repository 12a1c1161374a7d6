// See pool.h. One job at a time: its generation, chunk count and next unclaimed chunk share one atomic word, so
// a helper claims a chunk of the job it woke for, or nothing (a compare-and-swap fails once the generation has
// moved on). The job's function and context are read only after a claim succeeds, when the caller is still
// waiting for that chunk, so they are never read while the next job is being written.
#include "pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace bgpt {

namespace {

// A spin-wait hint (lets the sibling hyperthread run).
inline void pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How long a helper keeps looking for the next job before it sleeps: longer than the gap between two products
// of a decoding step (attention, layernorm and sampling run between them, a few to ~50 µs), short enough that
// an idle helper gives its core back at once on a human time scale.
constexpr auto kSpin = std::chrono::microseconds(300);

// A helper that claimed a chunk and then lost its core holds the caller up until it runs again: a scheduler tick
// (milliseconds) when another process keeps that core busy, and now and then on a quiet machine too. So the caller counts the time it waits beyond its own share (waits longer than kStallSlack); when
// that reaches a tenth of a kWindow stretch of work, it runs every job alone for a while, twice as long each time
// in a row (from kSoloMin up to kSoloMax), and tries the helpers again after.
constexpr auto kStallSlack = std::chrono::microseconds(100);
constexpr auto kWindow = std::chrono::milliseconds(100);
constexpr auto kSoloMin = std::chrono::milliseconds(50), kSoloMax = std::chrono::milliseconds(1600);

constexpr std::uint64_t kChunkBits = 16, kChunkMask = (1u << kChunkBits) - 1;

struct Pool {
  std::mutex use;  // held by the thread running a job
  // generation << 32 | chunks << 16 | next chunk to claim
  std::atomic<std::uint64_t> state{0};
  std::atomic<int> done{0};
  ChunkFn fn = nullptr;
  void* ctx = nullptr;
  int helpers = 0;
  std::atomic<int> active{0};  // helpers 0..active − 1 take part in the current job
  std::atomic<int> sleeping{0};
  std::mutex sleep;
  std::condition_variable wake;
  // the back-off (held under `use`): the stretch being measured, the waits counted in it, the next solo time
  std::chrono::steady_clock::time_point window{}, soloUntil{};
  std::chrono::steady_clock::duration stalled{}, solo = kSoloMin;

  // After a job that began at `start`, whose caller finished its own chunks at `own` and the job at `end`.
  void account(std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point own,
               std::chrono::steady_clock::time_point end) {
    if (end - own > (own - start) + kStallSlack) stalled += end - own;
    if (stalled * 10 >= kWindow) {  // a tenth of a window already: alone for a while
      soloUntil = end + solo;
      solo = std::min<std::chrono::steady_clock::duration>(2 * solo, kSoloMax);
    } else if (end - window >= kWindow) {  // a stretch without (many) waits: the next solo time is short again
      solo = kSoloMin;
    } else {
      return;
    }
    window = std::max(end, soloUntil);
    stalled = {};
  }

  static std::uint32_t generation(std::uint64_t s) { return static_cast<std::uint32_t>(s >> 32); }

  // Claims and runs chunks of generation g until none is left.
  void work(std::uint32_t g) {
    std::uint64_t s = state.load(std::memory_order_acquire);
    while (generation(s) == g && (s & kChunkMask) < ((s >> kChunkBits) & kChunkMask)) {
      if (!state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      fn(ctx, static_cast<int>(s & kChunkMask));
      done.fetch_add(1, std::memory_order_release);
      s = state.load(std::memory_order_acquire);
    }
  }

  void helper(int index) {
    std::uint32_t seen = generation(state.load(std::memory_order_acquire));
    for (;;) {
      std::uint32_t g = seen;
      const auto until = std::chrono::steady_clock::now() + kSpin;
      for (int i = 0; g == seen; i++) {
        pause();
        g = generation(state.load(std::memory_order_acquire));
        if (g == seen && (i & 255) == 255 && std::chrono::steady_clock::now() > until) {
          std::unique_lock<std::mutex> lock(sleep);
          sleeping.fetch_add(1);  // seq_cst: the caller's store of a new job and this are seen in one order
          wake.wait(lock, [&] { return generation(state.load()) != seen; });
          sleeping.fetch_sub(1);
          g = generation(state.load(std::memory_order_acquire));
        }
      }
      seen = g;
      if (index < active.load(std::memory_order_acquire)) work(g);
    }
  }
};

// Never destroyed: the helpers are detached and may be asleep in it when the process exits.
Pool& pool() {
  static Pool* p = new Pool;
  return *p;
}

}  // namespace

void run_chunks(ChunkFn fn, void* ctx, int chunks, int threads) {
  Pool& p = pool();
  std::unique_lock<std::mutex> lock(p.use, std::try_to_lock);
  const auto start = std::chrono::steady_clock::now();
  if (threads <= 1 || chunks <= 1 || !lock.owns_lock() || start < p.soloUntil) {
    for (int c = 0; c < chunks; c++) fn(ctx, c);
    return;
  }
  if (p.helpers < threads - 1) {
    const SignalsBlocked quiet;  // helpers start with every signal blocked (see common.h)
    for (; p.helpers < threads - 1; p.helpers++) std::thread([&p, i = p.helpers] { p.helper(i); }).detach();
  }
  p.fn = fn;
  p.ctx = ctx;
  p.done.store(0, std::memory_order_relaxed);
  p.active.store(threads - 1, std::memory_order_relaxed);
  const std::uint32_t g = Pool::generation(p.state.load(std::memory_order_relaxed)) + 1;
  p.state.store(static_cast<std::uint64_t>(g) << 32 | static_cast<std::uint64_t>(chunks) << kChunkBits);  // seq_cst
  if (p.sleeping.load() > 0) {
    const std::lock_guard<std::mutex> s(p.sleep);
    p.wake.notify_all();
  }
  p.work(g);
  const auto own = std::chrono::steady_clock::now();
  while (p.done.load(std::memory_order_acquire) < chunks) pause();
  p.account(start, own, std::chrono::steady_clock::now());
}

}  // namespace bgpt
