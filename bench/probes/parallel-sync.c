// Probe: how durable writes scale with the number in flight on this disk. K threads each write
// 4 KiB at the next free 4 KiB slot of one preallocated, zero-filled, synced file and make it
// durable, in a loop, for SECS seconds; prints the writes made durable per second and the mean
// latency of one. What parallel-wal would gain by publishing several epochs at once (a pipeline
// K deep) instead of one epoch per data sync.
//
// MODE 0: O_DIRECT | O_DSYNC writes (each write is durable when it returns)
// MODE 1: buffered pwrite + fdatasync (what the WAL does per frame today)
//
// Build: cc -O2 -pthread -o /tmp/parallel-sync bench/probes/parallel-sync.c
// Run:   dd if=/dev/zero of=FILE bs=1M count=64 conv=fsync
//        for m in 0 1; do for k in 1 2 4 8 16; do /tmp/parallel-sync FILE $k $m 2; done; done
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLOT 4096
#define SLOTS 16384 /* the 64 MiB file, reused round robin */
#define MAX_THREADS 64

static int fd;
static int mode;
static double secs;
static atomic_long ops;
static atomic_long next_slot;
static double mean_latency[MAX_THREADS];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void* run(void* arg) {
  const long id = (long)arg;
  void* buf;
  if (posix_memalign(&buf, SLOT, SLOT) != 0) exit(1);
  memset(buf, 7, SLOT);
  const double end = now() + secs;
  long n = 0;
  double total = 0;
  while (now() < end) {
    const long slot = atomic_fetch_add(&next_slot, 1) % SLOTS;
    const double t0 = now();
    if (pwrite(fd, buf, SLOT, slot * SLOT) != SLOT) {
      perror("pwrite");
      exit(1);
    }
    if (mode == 1 && fdatasync(fd) != 0) {
      perror("fdatasync");
      exit(1);
    }
    total += now() - t0;
    n++;
  }
  atomic_fetch_add(&ops, n);
  mean_latency[id] = n ? total / n : 0;
  free(buf);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s FILE THREADS MODE SECS\n", argv[0]);
    return 2;
  }
  const int k = atoi(argv[2]);
  mode = atoi(argv[3]);
  secs = atof(argv[4]);
  if (k < 1 || k > MAX_THREADS || (mode != 0 && mode != 1) || !(secs > 0)) {
    fprintf(stderr, "THREADS 1..%d, MODE 0 or 1, SECS > 0\n", MAX_THREADS);
    return 2;
  }
  fd = open(argv[1], O_RDWR | (mode == 0 ? O_DIRECT | O_DSYNC : 0));
  if (fd < 0) {
    perror("open");
    return 1;
  }
  pthread_t t[MAX_THREADS];
  for (long i = 0; i < k; i++) pthread_create(&t[i], NULL, run, (void*)i);
  for (int i = 0; i < k; i++) pthread_join(t[i], NULL);
  double lat = 0;
  for (int i = 0; i < k; i++) lat += mean_latency[i];
  printf("threads=%d mode=%s durable writes/s=%.0f mean latency=%.3f ms\n", k,
         mode == 0 ? "O_DIRECT|O_DSYNC" : "pwrite+fdatasync", ops / secs, lat / k * 1e3);
  close(fd);
  return 0;
}
