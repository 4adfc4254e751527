// Probe: does preparing one new file per epoch in the background slow the epoch's own sync?
// The main thread writes 128 B at offset 0 of a different prepared (zero-filled, synced) file
// per "epoch" + fdatasync, with a 60 us pause between epochs (the JS round trip). A second
// thread keeps one file ahead, as the WAL's preparer does:
//   mode 0: no preparer;  1: create + 4 KiB zeros + fsync per file, directory sync every 32;
//   2: the same without the per-file fsync.
// Build and run: cc -O2 -pthread -o /tmp/prep-probe preparer-interference.c &&
//                for m in 0 1 2; do rm -rf D; mkdir D; /tmp/prep-probe D 2000 $m; done
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
static int cmp(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static const char* dir;
static int mode;
static atomic_int stop, made, done;

static void* preparer(void* arg) {
  (void)arg;
  char path[4096], zeros[4096] = {0};
  const int dfd = open(dir, O_RDONLY);
  for (int i = 0; !atomic_load(&stop); i++) {
    snprintf(path, sizeof path, "%s/bg%d", dir, i);
    const int f = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (f < 0 || write(f, zeros, sizeof zeros) != sizeof zeros) { perror("prepare"); exit(1); }
    if (mode == 1) fsync(f);
    close(f);
    if (i % 32 == 31) fsync(dfd);
    atomic_fetch_add(&made, 1);
    while (atomic_load(&made) > atomic_load(&done) && !atomic_load(&stop)) usleep(50);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s DIR N MODE\n", argv[0]); return 2; }
  dir = argv[1];
  const size_t n = (size_t)atol(argv[2]);
  mode = atoi(argv[3]);
  char path[4096], zeros[4096], rec[128];
  memset(zeros, 0, sizeof zeros);
  memset(rec, 7, sizeof rec);
  int* fc = malloc(sizeof(int) * n);
  for (size_t i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/prep%zu", dir, i);
    fc[i] = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fc[i] < 0 || write(fc[i], zeros, sizeof zeros) != sizeof zeros || fsync(fc[i]) != 0) { perror("prepare"); return 1; }
  }
  const int dfd = open(dir, O_RDONLY);
  fsync(dfd);
  pthread_t th;
  if (mode > 0) pthread_create(&th, NULL, preparer, NULL);
  double* t = malloc(sizeof(double) * n);
  for (size_t i = 0; i < n; i++) {
    const double t0 = now_us();
    if (pwrite(fc[i], rec, sizeof rec, 0) != sizeof rec || fdatasync(fc[i]) != 0) { perror("epoch"); return 1; }
    t[i] = now_us() - t0;
    atomic_fetch_add(&done, 1);
    usleep(60);
  }
  atomic_store(&stop, 1);
  if (mode > 0) pthread_join(th, NULL);
  qsort(t, n, sizeof(double), cmp);
  printf("mode %d: epoch write+fdatasync p50 %.1f us  p90 %.1f us\n", mode, t[n / 2], t[n * 9 / 10]);
  return 0;
}
