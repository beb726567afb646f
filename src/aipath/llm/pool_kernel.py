"""C++ source of the small thread pool the int8 kernels split their work over (instead of OpenMP).

The machine these kernels run on is shared: two cores, often with other processes ready to
run. An OpenMP parallel region ends in a barrier that waits for *every* thread of the team,
so when the CPU pauses one of them (for a scheduler time slice, milliseconds) the call
stalls with it: decoding one token at batch 1, about 150 such barriers, measured 0.3-1.2 s
instead of 25 ms under a load of 4-6, worse than one thread.

Here a job is a count of items and a function; the calling thread and the pool's workers
claim items from one atomic ticket, and the caller returns as soon as every item is *done*.
A worker that has not woken up yet claims nothing and is not waited for; only an item
already claimed is (a thread paused inside one, which is unavoidable). Idle workers spin
for about 0.1 ms (yielding the core to whoever else is ready), then sleep on a condition
variable, so they do not compete with torch's OpenMP threads between decode steps.

The ticket packs (job generation << 32 | next item), so a worker that wakes up late cannot
claim an item of a newer job with the function of an older one. A process that forked gets
a fresh pool (the parent's threads do not exist in the child), and a second caller arriving
while a job runs (another Python thread) runs its job alone rather than sharing the pool.

When the caller has to wait for a paused worker longer than it worked itself, the machine
is oversubscribed: the next 64 jobs run on the calling thread alone (about half a token at
batch 1), doubling while it lasts (up to 8192 jobs, seconds), so a busy machine costs about
the speed of one thread instead of a scheduler time slice per step.
"""

POOL_SOURCE = r"""
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <sched.h>
#include <stdint.h>
#include <thread>
#include <unistd.h>
#include <vector>
#include <immintrin.h>
#include <x86intrin.h>

namespace pool {
// About 0.1 ms of spinning before a worker sleeps: covers the gaps between the steps of a
// decode (microseconds), not the gaps in which torch's own OpenMP threads run (prefill).
constexpr uint64_t SPIN_TICKS = 300000;
constexpr uint64_t LATE_TICKS = 60000;  // ~20 us of waiting beyond the caller's own share is not "late"
using Fn = void (*)(const void* ctx, long item);

struct State {
    std::atomic<uint64_t> ticket{0};  // (generation << 32) | next unclaimed item
    std::atomic<uint32_t> gen{0};
    std::atomic<long> done{0}, n{0};
    std::atomic<Fn> fn{nullptr};
    std::atomic<const void*> ctx{nullptr};
    std::atomic<int> width{0};  // workers taking part in the current job
    std::atomic_flag busy = ATOMIC_FLAG_INIT;
    std::mutex mu;
    std::condition_variable cv;
    int sleepers = 0;  // guarded by mu
    int workers = 0;
    long solo = 0, backoff = 0;  // jobs left to run alone, and the length of the last such stretch
    long jobs = 0, alone = 0;  // counters for q8_pool_stats: jobs shared with the pool / run alone
    pid_t pid = getpid();
};

// Claim and run items of generation g until none is left.
inline void work(State* s, uint32_t g) {
    const Fn fn = s->fn.load(std::memory_order_relaxed);
    const void* ctx = s->ctx.load(std::memory_order_relaxed);
    const long n = s->n.load(std::memory_order_relaxed);
    uint64_t t = s->ticket.load(std::memory_order_relaxed);
    while ((t >> 32) == g && long(t & 0xffffffffu) < n) {
        if (s->ticket.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) {
            fn(ctx, long(t & 0xffffffffu));
            s->done.fetch_add(1, std::memory_order_release);
            t = s->ticket.load(std::memory_order_relaxed);
        }
    }
}

inline void worker(State* s, int id) {
    uint32_t seen = s->gen.load(std::memory_order_acquire);
    for (;;) {
        uint32_t g;
        const uint64_t until = __rdtsc() + SPIN_TICKS;
        for (long spins = 1; (g = s->gen.load(std::memory_order_acquire)) == seen; ++spins) {
            if (spins % 64 || __rdtsc() < until) {
                _mm_pause();
                if (spins % 64 == 0) sched_yield();  // let a thread that is ready (ours or not) run
            } else {
                std::unique_lock<std::mutex> lock(s->mu);
                ++s->sleepers;
                s->cv.wait(lock, [&] { return s->gen.load(std::memory_order_acquire) != seen; });
                --s->sleepers;
            }
        }
        seen = g;
        if (id < s->width.load(std::memory_order_relaxed)) work(s, g);
    }
}

inline State* get(int threads) {
    static std::mutex creating;  // two Python threads may arrive first at the same time
    static State* s = nullptr;
    std::lock_guard<std::mutex> lock(creating);
    if (s == nullptr || s->pid != getpid()) s = new State();  // after fork: the old workers are gone
    for (; s->workers < threads - 1; ++s->workers) std::thread(worker, s, s->workers).detach();
    return s;
}

// fn(ctx, i) for every i in [0, n), on up to `threads` threads (this one included).
inline void run(Fn fn, const void* ctx, long n, int threads) {
    State* s = threads > 1 && n > 1 ? get(threads) : nullptr;
    if (s == nullptr || s->busy.test_and_set(std::memory_order_acquire)) {
        for (long i = 0; i < n; ++i) fn(ctx, i);
        return;
    }
    ++s->jobs;
    if (s->solo > 0) {  // the workers were late recently: this job runs here alone
        --s->solo, ++s->alone;
        for (long i = 0; i < n; ++i) fn(ctx, i);
        s->busy.clear(std::memory_order_release);
        return;
    }
    const uint64_t start = __rdtsc();
    s->fn.store(fn, std::memory_order_relaxed);
    s->ctx.store(ctx, std::memory_order_relaxed);
    s->n.store(n, std::memory_order_relaxed);
    s->width.store(threads - 1, std::memory_order_relaxed);
    s->done.store(0, std::memory_order_relaxed);
    const uint32_t g = s->gen.load(std::memory_order_relaxed) + 1;
    s->ticket.store(uint64_t(g) << 32, std::memory_order_release);
    s->gen.store(g, std::memory_order_release);
    {
        std::lock_guard<std::mutex> lock(s->mu);
        if (s->sleepers) s->cv.notify_all();
    }
    work(s, g);
    const uint64_t own = __rdtsc();
    for (long spins = 1; s->done.load(std::memory_order_acquire) < n; ++spins) {
        _mm_pause();
        if (spins % 64 == 0) sched_yield();  // a paused worker holds an item: give it the core
    }
    // Waiting longer than this thread worked means a worker was paused inside an item (the
    // CPU is oversubscribed): run the next jobs alone, doubling that stretch while it lasts.
    if (__rdtsc() - own > (own - start) + LATE_TICKS) {
        s->backoff = s->backoff ? (s->backoff < 8192 ? 2 * s->backoff : 8192) : 64;
        s->solo = s->backoff;
    } else if (s->backoff > 0) {
        --s->backoff;  // forgiven after as many on-time jobs as it last ran alone
    }
    s->busy.clear(std::memory_order_release);
}
}  // namespace pool

// (jobs that had the pool, jobs of those run alone after a late worker) since the pool started.
extern "C" void q8_pool_stats(long* out) {
    pool::State* s = pool::get(1);
    out[0] = s->jobs, out[1] = s->alone;
}
"""
