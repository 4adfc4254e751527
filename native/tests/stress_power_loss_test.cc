// Reliability campaign, part 1: simulated power loss at scale, through the real Wal.
//
// Each workload is drawn from a seed: fsync policy (full | normal), segment format (v1 | v2),
// 1-4 producer threads, 1-7 epochs of every size (empty, one commit, a few, tens, over a
// hundred), commits of 1-6 frames with images from 0 bytes to the 64 KiB maximum, 1-3 publish
// attempts, log files of the default 64 MiB, of 2-16 frame slots (rotating every few epochs) or
// none (a file per epoch), and in a third of the workloads checkpoints. Two shapes:
//   - stepped: the flusher is stopped; per epoch the producer threads submit concurrently, then
//     AdvanceAndFlush seals and publishes it (and sometimes a checkpoint follows). Every I/O
//     step is then deterministic, so a dry run
//     counts them and the workload is re-run crashing at EVERY step (and once after the last);
//   - live: the adaptive (or ticker) flusher runs while the threads commit and wait for
//     durability (and a thread checkpoints what is durable), and the run ends with Close(); it
//     crashes at several random steps.
// A crash makes the crashing call and every later one fail without effect; then power loss
// keeps only synced bytes and dir-synced entries and tears each file's unsynced tail (dropped,
// cut short, zero-filled, garbage: the tear mode rotates with the crash point). Then:
// strict recovery must succeed, return every acknowledged commit with its exact bytes, nothing
// unknown, partial or out of replay order, and a gap-free prefix of the submitted epochs (after
// checkpoints: a gap-free suffix of it that lost nothing past the checkpointed epoch); and a
// Wal reopened on the crashed disk must continue after the newest epoch, commit, close, and the
// whole log must recover again with nothing lost.
//
// CI runs PWAL_STRESS_WORKLOADS (default 1000; 60 under TSan, ~10x slower). Long runs:
//   npm run stress -- --workloads 100000       (scripts/stress.sh; shards over every core)
// Reproduce one workload: PWAL_STRESS_ONLY=<workload index> PWAL_STRESS_SEED=<base seed>.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>

#include "fault_file_system.h"
#include "log_file.h"
#include "stress_util.h"

namespace pwal {
namespace {

using stress::Commit;
using stress::Ledger;
using Tear = FaultInjectingFileSystem::TearMode;

const char* kDir = "/db";
const char* kDb = "/db/stress.db";

struct Workload {
  uint64_t index = 0;
  uint64_t seed = 0;
  FsyncPolicy fsync = FsyncPolicy::kFull;
  uint16_t format = kSegmentFormatV2;
  size_t threads = 1;
  uint32_t attempts = 1;
  bool live = false;
  FlushPolicy policy = FlushPolicy::kAdaptive;
  // stepped: plan[epoch][thread] = commits; live: plan[0][thread] = commits.
  std::vector<std::vector<std::vector<Commit>>> plan;
  size_t wait_every = 1;  // live: a thread waits for durability after this many submits
  uint64_t log_file_bytes = WalOptions().log_file_bytes;  // 0: a prepared file per epoch
  bool checkpoints = false;
};

Workload MakeWorkload(uint64_t base_seed, uint64_t index) {
  Workload w;
  w.index = index;
  w.seed = stress::SplitMix(base_seed * 0x9E3779B97F4A7C15ull + index);
  std::mt19937_64 rng(w.seed);
  w.fsync = rng() % 2 ? FsyncPolicy::kFull : FsyncPolicy::kNormal;
  w.format = rng() % 3 == 0 ? kSegmentFormatV1 : kSegmentFormatV2;
  w.threads = 1 + rng() % 4;
  w.attempts = 1 + rng() % 3;
  w.live = rng() % 4 == 0;
  w.policy = rng() % 3 == 0 ? FlushPolicy::kTicker : FlushPolicy::kAdaptive;
  w.wait_every = 1 + rng() % 4;
  uint64_t txn = 1;
  const size_t epochs = w.live ? 1 : 1 + rng() % 7;
  for (size_t e = 0; e < epochs; ++e) {
    // Epochs of every size.
    const uint64_t cls = rng() % 100;
    size_t n = cls < 10 ? 0 : cls < 35 ? 1 : cls < 65 ? 2 + rng() % 4 : cls < 90 ? 6 + rng() % 25 : 31 + rng() % 100;
    if (w.live) n = 4 + rng() % 60;
    std::vector<std::vector<Commit>> per_thread(w.threads);
    for (size_t i = 0; i < n; ++i) per_thread[rng() % w.threads].push_back(stress::RandomCommit(rng, txn++));
    w.plan.push_back(std::move(per_thread));
  }
  // Drawn after the plan, so that a seed's earlier choices stay what they were.
  const uint64_t files = rng() % 3;
  if (files == 1) w.log_file_bytes = kLogFrameAlign * (2 + rng() % 15);
  if (files == 2) w.log_file_bytes = 0;
  w.checkpoints = rng() % 3 == 0;
  return w;
}

WalOptions OptionsFor(const Workload& w, FaultInjectingFileSystem* fs, bool start_flusher) {
  WalOptions o;
  o.fs = fs;
  o.slot_count = w.threads;
  o.fsync = w.fsync;
  o.format_version = w.format;
  o.max_write_attempts = w.attempts;
  o.start_flusher = start_flusher;
  o.policy = w.policy;
  o.epoch_interval_ms = 1;
  o.max_flush_delay_ms = 1;
  o.log_file_bytes = w.log_file_bytes;
  // Checkpoints shrink the files they retire in a few steps (each one a crash point), unpaused.
  o.checkpoint_step_bytes = std::max<uint64_t>(kLogFrameAlign, w.log_file_bytes / 4);
  o.checkpoint_step_pause_ns = 0;
  return o;
}

// Noted before the checkpoint runs: a crash can land in the middle of it. Checkpoint clamps
// to the durable epoch; callers pass at most that.
void NoteCheckpoint(Ledger* ledger, uint64_t upto) {
  ledger->checkpoint_upto = std::max(ledger->checkpoint_upto.value_or(0), upto);
}

// Stepped shape: per epoch, threads submit concurrently, then AdvanceAndFlush.
void RunStepped(const Workload& w, FaultInjectingFileSystem* fs, Ledger* ledger) {
  std::mt19937_64 ckpt_rng(w.seed ^ 0xC4EC4);
  std::shared_ptr<Wal> wal;
  if (!Wal::Open(kDb, OptionsFor(w, fs, false), &wal).ok()) return;
  std::vector<uint64_t> epoch_txns;
  for (const auto& epoch : w.plan) {
    std::vector<std::vector<Commit>> done(w.threads);
    std::vector<std::thread> ts;
    for (size_t t = 0; t < w.threads; ++t) {
      ts.emplace_back([&, t] {
        for (Commit c : epoch[t]) {
          stress::SubmitCommit(wal.get(), t, &c);  // epoch stays 0 if refused
          done[t].push_back(std::move(c));
        }
      });
    }
    for (auto& t : ts) t.join();
    std::vector<uint64_t> submitted;
    for (auto& d : done) {
      for (Commit& c : d) {
        if (c.submitted) submitted.push_back(c.txn);
        ledger->commits[c.txn] = std::move(c);
      }
    }
    if (!wal->AdvanceAndFlush(10000, nullptr).ok()) break;
    ledger->acked.insert(submitted.begin(), submitted.end());
    const std::optional<uint64_t> durable = wal->DurableEpoch();
    if (w.checkpoints && durable && ckpt_rng() % 2 == 0) {
      // Everything durable, or an epoch or two less (a file that also holds a later epoch stays).
      const uint64_t upto = *durable - std::min<uint64_t>(*durable, ckpt_rng() % 3);
      NoteCheckpoint(ledger, upto);
      Wal::CheckpointResult r;
      if (!wal->Checkpoint(upto, &r).ok()) break;
      ledger->checkpoint_files_deleted += r.files_deleted;
    }
  }
  wal->Close(true);
}

// Live shape: the flusher runs; threads submit and wait for durability; Close drains the rest.
void RunLive(const Workload& w, FaultInjectingFileSystem* fs, Ledger* ledger) {
  std::shared_ptr<Wal> wal;
  if (!Wal::Open(kDb, OptionsFor(w, fs, true), &wal).ok()) return;
  std::vector<std::vector<Commit>> done(w.threads);
  std::vector<std::vector<uint64_t>> acked(w.threads);
  std::vector<std::thread> ts;
  for (size_t t = 0; t < w.threads; ++t) {
    ts.emplace_back([&, t] {
      std::vector<uint64_t> unacked;
      uint64_t last_epoch = 0;
      bool dead = false;
      for (Commit c : w.plan[0][t]) {
        if (!dead && stress::SubmitCommit(wal.get(), t, &c, 2000).ok()) {
          unacked.push_back(c.txn);
          last_epoch = c.epoch;
        } else {
          dead = true;
        }
        done[t].push_back(std::move(c));
        if (!dead && unacked.size() >= w.wait_every) {
          if (wal->WaitForEpochDurable(last_epoch, 10000).ok()) {
            acked[t].insert(acked[t].end(), unacked.begin(), unacked.end());
            unacked.clear();
          } else {
            dead = true;
          }
        }
      }
      if (!dead && !unacked.empty() && wal->WaitForEpochDurable(last_epoch, 10000).ok()) {
        acked[t].insert(acked[t].end(), unacked.begin(), unacked.end());
      }
    });
  }
  // The checkpointer: whenever the durable epoch moves, checkpoint up to it, beside the
  // producers and the flusher, until they are done (the step count bounds it in a crash).
  std::atomic<bool> producers_done{false};
  std::atomic<uint64_t> ckpt_upto{0};
  std::atomic<bool> ckpt_any{false};
  std::atomic<uint64_t> ckpt_deleted{0};
  std::thread checkpointer;
  if (w.checkpoints) {
    checkpointer = std::thread([&] {
      std::optional<uint64_t> last;
      while (!producers_done.load()) {
        const std::optional<uint64_t> d = wal->DurableEpoch();
        if (!d || d == last) {
          std::this_thread::yield();
          continue;
        }
        last = d;
        ckpt_upto.store(*d);  // before the call (a crash may land inside it)
        ckpt_any.store(true);
        Wal::CheckpointResult r;
        if (!wal->Checkpoint(*d, &r).ok()) return;
        ckpt_deleted.fetch_add(r.files_deleted);
      }
    });
  }
  for (auto& t : ts) t.join();
  producers_done.store(true);
  if (checkpointer.joinable()) checkpointer.join();
  if (ckpt_any.load()) NoteCheckpoint(ledger, ckpt_upto.load());
  ledger->checkpoint_files_deleted += ckpt_deleted.load();
  const Status closed = wal->Close(false);
  const std::optional<uint64_t> durable = wal->DurableEpoch();
  if (std::getenv("PWAL_STRESS_DEBUG")) {
    std::fprintf(stderr, "live close: %s failed=%d durable=%lld\n", closed.ToString().c_str(),
                 wal->IsFailed(), durable ? (long long)*durable : -1LL);
  }
  for (size_t t = 0; t < w.threads; ++t) {
    for (Commit& c : done[t]) {
      // After Close(abort=false), DurableEpoch() is the WAL's final claim: everything <= it.
      if (closed.ok() && c.submitted && durable && c.epoch <= *durable) ledger->acked.insert(c.txn);
      ledger->commits[c.txn] = std::move(c);
    }
    ledger->acked.insert(acked[t].begin(), acked[t].end());
  }
}

struct Figures {
  uint64_t workloads = 0, stepped = 0, live = 0;
  uint64_t crash_points = 0, crashes_hit = 0;
  uint64_t commits_submitted = 0, acked_checked = 0, records_checked = 0, reopens = 0;
  uint64_t tear[4] = {};
  uint64_t by_policy[2] = {}, by_format[2] = {};
  uint64_t by_files[3] = {};  // 64 MiB log files, small log files, a file per epoch
  uint64_t checkpointed = 0, checkpoint_files_deleted = 0;
  uint64_t failures = 0;
  std::vector<std::string> failure_notes;
};

// One crash point of one workload. Returns false on any invariant violation.
bool CrashOnce(const Workload& w, uint64_t crash_step, Tear tear, uint64_t tear_seed, Figures* f,
               uint64_t* steps_out) {
  FaultInjectingFileSystem fs;
  fs.MakeDir(kDir);
  if (crash_step != 0) fs.CrashAtStep(crash_step);
  Ledger ledger;
  if (w.live) RunLive(w, &fs, &ledger);
  else RunStepped(w, &fs, &ledger);
  if (steps_out) *steps_out = fs.steps();
  if (fs.crashed()) ++f->crashes_hit;
  fs.PowerLoss(tear, tear_seed);

  std::vector<std::string> failures;
  stress::CheckStats cs;
  std::map<uint64_t, uint64_t> present = stress::CheckRecovered(&fs, kDb, ledger, true, &failures, &cs);
  f->records_checked += cs.records;
  f->acked_checked += ledger.acked.size();
  f->checkpoint_files_deleted += ledger.checkpoint_files_deleted;
  for (const auto& kv : ledger.commits) f->commits_submitted += kv.second.submitted;

  // Reopen on the crashed disk: continue after the newest epoch, commit, close, recover all.
  if (failures.empty()) {
    Workload cont = w;
    cont.live = false;
    std::shared_ptr<Wal> wal;
    Status st = Wal::Open(kDb, OptionsFor(cont, &fs, false), &wal);
    if (!st.ok()) {
      failures.push_back("reopen after crash failed: " + st.ToString());
    } else {
      ++f->reopens;
      if (cs.any && wal->CurrentEpoch() <= cs.max_epoch) {
        failures.push_back("reopened WAL would reuse epoch " + std::to_string(wal->CurrentEpoch()) +
                           " <= recovered " + std::to_string(cs.max_epoch));
      }
      Ledger after;
      for (const auto& [txn, epoch] : present) {
        after.commits[txn] = ledger.commits.at(txn);
        after.acked.insert(txn);
      }
      Commit c;
      c.txn = 1000000000000ull + w.index;
      c.pages = {3, 5};
      c.sizes = {100, static_cast<uint32_t>(w.index % 5000)};
      st = stress::SubmitCommit(wal.get(), 0, &c);
      if (st.ok()) st = wal->AdvanceAndFlush(10000, nullptr);
      if (!st.ok()) failures.push_back("commit after reopen failed: " + st.ToString());
      after.commits[c.txn] = c;
      after.acked.insert(c.txn);
      st = wal->Close();
      if (!st.ok()) failures.push_back("close after reopen failed: " + st.ToString());
      wal.reset();
      stress::CheckRecovered(&fs, kDb, after, true, &failures);
    }
  }
  if (failures.empty()) return true;
  ++f->failures;
  if (f->failure_notes.size() < 20) {
    std::string note = "workload " + std::to_string(w.index) + " (" + (w.live ? "live" : "stepped") +
                       ", " + stress::PolicyName(w.fsync) + ", v" + std::to_string(w.format) + ", " +
                       std::to_string(w.threads) + " threads, log files " + std::to_string(w.log_file_bytes) +
                       (w.checkpoints ? ", checkpoints" : "") + ") crash step " + std::to_string(crash_step) +
                       " tear " + std::to_string(static_cast<int>(tear)) + ": " + failures[0];
    f->failure_notes.push_back(note);
  }
  return false;
}

void RunWorkload(const Workload& w, Figures* f) {
  ++f->workloads;
  ++(w.live ? f->live : f->stepped);
  ++f->by_policy[w.fsync == FsyncPolicy::kFull ? 0 : 1];
  ++f->by_format[w.format == kSegmentFormatV1 ? 0 : 1];
  ++f->by_files[w.log_file_bytes == 0 ? 2 : w.log_file_bytes < WalOptions().log_file_bytes ? 1 : 0];
  f->checkpointed += w.checkpoints;
  std::mt19937_64 rng(w.seed ^ 0xC0FFEE);
  // Dry run without a crash (also a checked crash point: power loss after a clean close).
  uint64_t total = 0;
  ++f->crash_points;
  ++f->tear[0];
  if (!CrashOnce(w, 0, Tear::kDrop, rng(), f, &total)) return;
  const Tear tears[] = {Tear::kDrop, Tear::kCutShort, Tear::kZeroFill, Tear::kGarbage};
  if (!w.live) {
    // Every step, and the step after the last (the crash lands after the run returned).
    for (uint64_t step = 1; step <= total + 1; ++step) {
      const int t = static_cast<int>((step + w.seed) % 4);
      ++f->crash_points;
      ++f->tear[t];
      if (!CrashOnce(w, step, tears[t], rng(), f, nullptr)) return;
    }
  } else {
    // Live runs are not step-deterministic: random steps within the dry run's span.
    for (int k = 0; k < 4; ++k) {
      const int t = static_cast<int>(rng() % 4);
      ++f->crash_points;
      ++f->tear[t];
      if (!CrashOnce(w, 1 + rng() % (total + 1), tears[t], rng(), f, nullptr)) return;
    }
  }
}

TEST(StressPowerLoss, SeededWorkloadsCrashAtEveryStep) {
  const uint64_t n = stress::EnvU64("PWAL_STRESS_WORKLOADS", stress::kUnderTsan ? 60 : 1000);
  const uint64_t base = stress::EnvU64("PWAL_STRESS_SEED", 20241121);
  const uint64_t shard = stress::EnvU64("PWAL_STRESS_SHARD", 0);
  const uint64_t shards = std::max<uint64_t>(1, stress::EnvU64("PWAL_STRESS_SHARDS", 1));
  const char* only = std::getenv("PWAL_STRESS_ONLY");
  Figures f;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = shard; i < n; i += shards) {
    if (only != nullptr && *only != '\0' && std::strtoull(only, nullptr, 10) != i) continue;
    RunWorkload(MakeWorkload(base, i), &f);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "STRESS power-loss: seed=%llu shard=%llu/%llu workloads=%llu (stepped %llu, live %llu; full %llu, "
      "normal %llu; v1 %llu, v2 %llu; log files 64 MiB/small/none %llu/%llu/%llu; checkpoints %llu, files they deleted %llu) crash_points=%llu crashes_hit=%llu tears(drop/cut/zero/garbage)="
      "%llu/%llu/%llu/%llu commits_submitted=%llu acked_commits_checked=%llu records_checked=%llu "
      "reopens=%llu failures=%llu seconds=%.1f\n",
      (unsigned long long)base, (unsigned long long)shard, (unsigned long long)shards,
      (unsigned long long)f.workloads, (unsigned long long)f.stepped, (unsigned long long)f.live,
      (unsigned long long)f.by_policy[0], (unsigned long long)f.by_policy[1],
      (unsigned long long)f.by_format[0], (unsigned long long)f.by_format[1],
      (unsigned long long)f.by_files[0], (unsigned long long)f.by_files[1],
      (unsigned long long)f.by_files[2], (unsigned long long)f.checkpointed,
      (unsigned long long)f.checkpoint_files_deleted,
      (unsigned long long)f.crash_points, (unsigned long long)f.crashes_hit,
      (unsigned long long)f.tear[0], (unsigned long long)f.tear[1], (unsigned long long)f.tear[2],
      (unsigned long long)f.tear[3], (unsigned long long)f.commits_submitted,
      (unsigned long long)f.acked_checked, (unsigned long long)f.records_checked,
      (unsigned long long)f.reopens, (unsigned long long)f.failures, secs);
  for (const std::string& note : f.failure_notes) std::printf("  FAILURE %s\n", note.c_str());
  std::fflush(stdout);
  EXPECT_EQ(f.failures, 0u);
  if (only == nullptr || *only == '\0') {
    EXPECT_EQ(f.workloads, (n - std::min(n, shard) + shards - 1) / shards);
    // The campaign must actually crash and actually acknowledge things.
    EXPECT_GT(f.crashes_hit, f.workloads);
    EXPECT_GT(f.acked_checked, f.workloads);
    if (f.checkpointed > 0) EXPECT_GT(f.checkpoint_files_deleted, f.checkpointed);
  }
}

}  // namespace
}  // namespace pwal
