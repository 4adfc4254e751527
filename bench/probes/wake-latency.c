// Probe: what waking an idle thread costs on this machine. Two threads pass a token back and
// forth N times; each pass either wakes the other thread from a condition-variable sleep
// (MODE 0: two wake-ups per round trip, what every hand-off between the JS thread, the flusher
// and a thread-pool worker pays when the receiver is idle) or is seen by a receiver that spins
// (MODE 1: no wake-up). GAP_US of busy work before each round trip lets the other CPU go idle
// (on a VM an idle vCPU halts, and waking it is an exit to the hypervisor).
//
// Prints the mean round trip. Half of MODE 0 minus half of MODE 1 is the cost of one wake-up:
// the part of a commit's latency (and of a `writeSegment` promise's) that no disk explains.
//
// Build: cc -O2 -pthread -o /tmp/wake-latency bench/probes/wake-latency.c
// Run:   for m in 0 1; do for g in 0 50 200; do /tmp/wake-latency $m $g; done; done
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { kRounds = 20000 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn;             // MODE 0: whose turn, under mu
static _Atomic int spin_turn;  // MODE 1
static int spin;

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void wait_for(int v) {
  if (spin) {
    while (atomic_load_explicit(&spin_turn, memory_order_acquire) != v) __builtin_ia32_pause();
    return;
  }
  pthread_mutex_lock(&mu);
  while (turn != v) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
}

static void pass_to(int v) {
  if (spin) {
    atomic_store_explicit(&spin_turn, v, memory_order_release);
    return;
  }
  pthread_mutex_lock(&mu);
  turn = v;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
}

static void* other(void* arg) {
  (void)arg;
  for (int i = 0; i < kRounds; i++) {
    wait_for(1);
    pass_to(0);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODE(0 sleep, 1 spin) [GAP_US]\n", argv[0]);
    return 2;
  }
  spin = atoi(argv[1]);
  const int gap_us = argc > 2 ? atoi(argv[2]) : 0;
  pthread_t t;
  pthread_create(&t, NULL, other, NULL);
  double total = 0;
  for (int i = 0; i < kRounds; i++) {
    if (gap_us > 0) {
      const double g = now_us();
      while (now_us() - g < gap_us) {
      }
    }
    const double a = now_us();
    pass_to(1);
    wait_for(0);
    total += now_us() - a;
  }
  pthread_join(t, NULL);
  printf("mode=%s gap=%dus: round trip %.1f us (%d rounds)\n", spin ? "spin" : "sleep", gap_us,
         total / kRounds, kRounds);
  return 0;
}
