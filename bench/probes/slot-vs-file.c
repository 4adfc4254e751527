// Probe: what one small durable write costs, three ways, interleaved in one run.
//   append : write 128 B at the end of one open file + fdatasync (the "floor" of issue #4)
//   slot   : write 128 B at the next 4 KiB-aligned slot of one preallocated, zero-filled,
//            synced file + fdatasync (what an epoch costs if epochs are frames in a log file)
//   file   : write 128 B at offset 0 of a different zero-filled, synced 4 KiB file each time +
//            fdatasync (what an epoch costs today: one prepared segment file per epoch)
// Build and run: cc -O2 -o /tmp/slot-vs-file slot-vs-file.c && /tmp/slot-vs-file DIR 1500
// DIR should be on the disk under test, empty; the probe leaves its files there.
#define _GNU_SOURCE
#include <fcntl.h>
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
  if (!ok) { perror(what); exit(1); }
}

int main(int argc, char** argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s DIR N\n", argv[0]); return 2; }
  const char* dir = argv[1];
  const size_t n = (size_t)atol(argv[2]);
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
