// Probes: what one small durable write costs on this disk, the ways parallel-wal could write an
// epoch. Two experiments, each run alone on an empty DIR on the disk under test (files are left
// there):
//
// `layout DIR N` interleaves three ways of making 128 B durable (write + fdatasync):
//   append : at the end of one open file (the "floor" of issue #4)
//   slot   : at the next 4 KiB-aligned slot of one preallocated, zero-filled, synced file
//            (what an epoch costs if epochs are frames in a log file)
//   file   : at offset 0 of a different zero-filled, synced 4 KiB file each time (what an epoch
//            costs today: one prepared segment file per epoch)
//
// `preparer DIR N MODE` writes 128 B at offset 0 of a different prepared file per "epoch" +
// fdatasync, 60 us apart (the JS round trip), while a second thread keeps one file ahead as the
// WAL's preparer does. MODE 0: no preparer; 1: create + 4 KiB zeros + fsync per file, directory
// sync every 32; 2: the same without the per-file fsync.
//
// Build: cc -O2 -pthread -o /tmp/epoch-sync bench/probes/epoch-sync.c
// Run:   mkdir D && /tmp/epoch-sync layout D 1500
//        for m in 0 1 2; do rm -rf D; mkdir D; /tmp/epoch-sync preparer D 2000 $m; done
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
static void must(int ok, const char* what) {
  if (!ok) {
    perror(what);
    exit(1);
  }
}

static int layout(const char* dir, size_t n) {
  char path[4096], zeros[4096], rec[128];
  memset(zeros, 0, sizeof zeros);
  memset(rec, 7, sizeof rec);

  snprintf(path, sizeof path, "%s/append", dir);
  const int fa = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_APPEND, 0644);
  snprintf(path, sizeof path, "%s/log", dir);
  const int fb = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
  must(fa >= 0 && fb >= 0, "open");
  for (size_t i = 0; i < n; i++) must(write(fb, zeros, sizeof zeros) == sizeof zeros, "write");
  must(fsync(fb) == 0, "fsync");
  int* fc = malloc(sizeof(int) * n);
  for (size_t i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/file%zu", dir, i);
    fc[i] = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    must(fc[i] >= 0 && write(fc[i], zeros, sizeof zeros) == sizeof zeros && fsync(fc[i]) == 0, "prepare");
  }
  const int dfd = open(dir, O_RDONLY);
  must(dfd >= 0 && fsync(dfd) == 0, "dir sync");

  double* t[3] = {malloc(8 * n), malloc(8 * n), malloc(8 * n)};
  for (size_t i = 0; i < n; i++) {
    for (int v = 0; v < 3; v++) {  // rotate the order so no variant always follows another
      const int w = (int)((i + v) % 3);
      const double t0 = now_us();
      if (w == 0) must(write(fa, rec, sizeof rec) == sizeof rec && fdatasync(fa) == 0, "append");
      if (w == 1) must(pwrite(fb, rec, sizeof rec, (off_t)(i * 4096)) == sizeof rec && fdatasync(fb) == 0, "slot");
      if (w == 2) must(pwrite(fc[i], rec, sizeof rec, 0) == sizeof rec && fdatasync(fc[i]) == 0, "file");
      t[w][i] = now_us() - t0;
    }
  }
  const char* names[3] = {"append", "slot", "file"};
  for (int w = 0; w < 3; w++) {
    qsort(t[w], n, sizeof(double), cmp);
    printf("%-6s p50 %6.1f us  p90 %6.1f us\n", names[w], t[w][n / 2], t[w][n * 9 / 10]);
  }
  return 0;
}

static const char* g_dir;  // the preparer experiment's state
static int mode;
static atomic_int stop, made, done;

static void* preparer(void* arg) {
  (void)arg;
  char path[4096], zeros[4096] = {0};
  const int dfd = open(g_dir, O_RDONLY);
  for (int i = 0; !atomic_load(&stop); i++) {
    snprintf(path, sizeof path, "%s/bg%d", g_dir, i);
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

static int preparer_run(const char* d, size_t n, int m) {
  g_dir = d;
  mode = m;
  char path[4096], zeros[4096], rec[128];
  memset(zeros, 0, sizeof zeros);
  memset(rec, 7, sizeof rec);
  int* fc = malloc(sizeof(int) * n);
  for (size_t i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/prep%zu", g_dir, i);
    fc[i] = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fc[i] < 0 || write(fc[i], zeros, sizeof zeros) != sizeof zeros || fsync(fc[i]) != 0) { perror("prepare"); return 1; }
  }
  const int dfd = open(g_dir, O_RDONLY);
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

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "layout") == 0) return layout(argv[2], (size_t)atol(argv[3]));
  if (argc == 5 && strcmp(argv[1], "preparer") == 0) {
    return preparer_run(argv[2], (size_t)atol(argv[3]), atoi(argv[4]));
  }
  fprintf(stderr, "usage: %s layout DIR N | %s preparer DIR N MODE\n", argv[0], argv[0]);
  return 2;
}
