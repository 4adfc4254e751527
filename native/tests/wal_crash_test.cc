// Crash tests: run a workload on the fault-injecting file system, "crash" at every I/O step
// (every later call fails and has no effect), simulate power loss (unsynced bytes dropped or
// torn, unsynced directory entries forgotten), recover, and check:
//   - recovery succeeds in strict mode (a torn tail is reported, never an error);
//   - every acknowledged commit is there with its exact bytes;
//   - nothing recovered is corrupt or partial: each record belongs to a submitted commit with
//     its exact bytes, and a multi-frame commit is either wholly present or wholly absent;
//   - a Wal reopened after the crash continues the log, and the log still recovers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "failing_file_system.h"
#include "fault_file_system.h"
#include "log_file.h"
#include "segment.h"
#include "test_util.h"
#include "wal.h"

namespace pwal {
namespace {

using Tear = FaultInjectingFileSystem::TearMode;
const char* kDb = "/db/crash.db";

std::vector<uint8_t> Image(uint64_t txn, uint32_t page, size_t size) {
  std::vector<uint8_t> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<uint8_t>(txn * 131 + page * 7 + i);
  return v;
}

struct Commit {
  uint64_t txn;
  std::vector<uint32_t> pages;
  size_t size;
};

// Submits one commit of `pages` frames; returns its epoch.
Status SubmitCommit(Wal* wal, size_t slot, const Commit& c, uint64_t* epoch) {
  std::vector<std::vector<uint8_t>> images;
  std::vector<SubmitFrame> frames;
  for (uint32_t p : c.pages) images.push_back(Image(c.txn, p, c.size));
  for (size_t i = 0; i < c.pages.size(); ++i) {
    frames.push_back(SubmitFrame{c.pages[i], images[i].data(), images[i].size(),
                                 static_cast<uint32_t>(c.pages.size())});
  }
  SubmitBatch b;
  b.txn_id = c.txn;
  b.commit_seq = c.txn;
  b.frames = frames.data();
  b.frame_count = frames.size();
  return wal->Submit(slot, b, epoch);
}

// Recovers strictly and checks the invariants; returns the txns recovered.
std::set<uint64_t> CheckRecovery(FaultInjectingFileSystem* fs,
                                 const std::map<uint64_t, Commit>& submitted,
                                 const std::set<uint64_t>& acked, const std::string& where) {
  RecoveryResult rr;
  std::vector<WalRecord> records;
  Status st = RecoverSegments(fs, kDb, RecoveryOptions(), &rr, &records);
  EXPECT_TRUE(st.ok()) << where << ": " << st.ToString();
  std::map<uint64_t, std::set<uint32_t>> pages_by_txn;
  for (const WalRecord& r : records) {
    auto it = submitted.find(r.txn_id);
    if (it == submitted.end()) {
      ADD_FAILURE() << where << ": recovered unknown txn " << r.txn_id;
      continue;
    }
    EXPECT_EQ(r.after_image, Image(r.txn_id, r.page_id, it->second.size))
        << where << ": corrupt image for txn " << r.txn_id;
    EXPECT_TRUE(pages_by_txn[r.txn_id].insert(r.page_id).second) << where << ": duplicate";
  }
  std::set<uint64_t> got;
  for (const auto& [txn, pages] : pages_by_txn) {
    EXPECT_EQ(pages.size(), submitted.at(txn).pages.size())
        << where << ": partial commit " << txn;
    got.insert(txn);
  }
  for (uint64_t txn : acked) EXPECT_TRUE(got.count(txn)) << where << ": lost acked txn " << txn;
  return got;
}

// After a crash: reopen, commit once more, and the whole log must still recover.
void ReopenAndContinue(FaultInjectingFileSystem* fs, std::map<uint64_t, Commit>* submitted,
                       std::set<uint64_t> acked, const std::string& where) {
  WalOptions o;
  o.slot_count = 1;
  o.fs = fs;
  o.start_flusher = false;
  std::shared_ptr<Wal> wal;
  Status st = Wal::Open(kDb, o, &wal);
  ASSERT_TRUE(st.ok()) << where << ": reopen: " << st.ToString();
  Commit c{900000, {1, 2}, 40};
  (*submitted)[c.txn] = c;
  uint64_t e;
  ASSERT_TRUE(SubmitCommit(wal.get(), 0, c, &e).ok());
  st = wal->AdvanceAndFlush(10000, nullptr);
  ASSERT_TRUE(st.ok()) << where << ": flush after reopen: " << st.ToString();
  acked.insert(c.txn);
  ASSERT_TRUE(wal->Close().ok());
  CheckRecovery(fs, *submitted, acked, where + " (after reopen)");
}

struct RunResult {
  std::map<uint64_t, Commit> submitted;
  std::set<uint64_t> acked;
};

// The deterministic workload: 5 epochs of 1-3 commits each (1-3 frames), flushed by hand.
// With prepared files (inline, so every I/O step is deterministic) it also seals two empty
// epochs, whose prepared files become orphans, and grows the segments past the prepared size.
// How a crash-test WAL publishes: new files only, a prepared file per epoch, or frames in log
// files (small ones, 4 slots, so that the workload fills several): zero-filled ahead when ready
// (LogFill::kAlways), or always grown by appends (kNever).
enum class Publish { kNewFiles, kPreparedFiles, kLogFiles, kAppendedLogFiles };
constexpr uint64_t kSmallLogFile = 4 * kLogFrameAlign;

RunResult RunDeterministic(FaultInjectingFileSystem* fs, Publish publish = Publish::kNewFiles,
                           WalStats* stats = nullptr) {
  RunResult out;
  WalOptions o;
  o.slot_count = 2;
  o.fs = fs;
  o.start_flusher = false;
  o.fsync = FsyncPolicy::kFull;
  o.max_write_attempts = 2;
  const PrepareMode prepare = publish == Publish::kNewFiles ? PrepareMode::kOff : PrepareMode::kInline;
  o.prepare = prepare;
  o.prepare_ahead = 2;
  const bool log_files = publish == Publish::kLogFiles || publish == Publish::kAppendedLogFiles;
  o.log_file_bytes = log_files ? kSmallLogFile : 0;
  o.log_fill = publish == Publish::kAppendedLogFiles ? LogFill::kNever : LogFill::kAlways;
  std::shared_ptr<Wal> wal;
  if (!Wal::Open(kDb, o, &wal).ok()) return out;
  const bool prepared = prepare != PrepareMode::kOff;
  uint64_t txn = 1;
  for (int epoch = 0; epoch < 5; ++epoch) {
    if (prepared && (epoch == 2 || epoch == 4)) {
      if (!wal->AdvanceAndFlush(10000, nullptr).ok()) break;  // an empty epoch
    }
    std::vector<uint64_t> in_epoch;
    for (int k = 0; k <= epoch % 3; ++k, ++txn) {
      Commit c{txn, {}, static_cast<size_t>(16 + 40 * k + (prepared && epoch == 3 ? 3000 : 0))};
      for (int p = 0; p <= (txn % 3); ++p) c.pages.push_back(static_cast<uint32_t>(p + 1));
      out.submitted[txn] = c;
      uint64_t e;
      if (!SubmitCommit(wal.get(), txn % 2, c, &e).ok()) break;
      in_epoch.push_back(txn);
    }
    if (!wal->AdvanceAndFlush(10000, nullptr).ok()) break;
    out.acked.insert(in_epoch.begin(), in_epoch.end());
  }
  if (stats != nullptr) *stats = wal->Stats();
  wal->Close(true);
  return out;
}

class WalCrashEveryStep : public ::testing::TestWithParam<Publish> {};

TEST_P(WalCrashEveryStep, DeterministicWorkload) {
  const Publish prepare = GetParam();
  uint64_t total_steps = 0;
  {
    FaultInjectingFileSystem fs;
    fs.MakeDir("/db");
    WalStats stats;
    RunResult r = RunDeterministic(&fs, prepare, &stats);
    ASSERT_EQ(r.acked.size(), r.submitted.size()) << "the workload must succeed without faults";
    total_steps = fs.steps();
    CheckRecovery(&fs, r.submitted, r.acked, "no crash");
    if (prepare == Publish::kLogFiles || prepare == Publish::kAppendedLogFiles) {
      // Every epoch is a frame, in more than one log file (the 3000-byte images of epoch 3 fill
      // one). Epoch 0's log file is grown by appends (nothing is zero-filled yet); with
      // kAppendedLogFiles every one is. Close left no temporaries.
      EXPECT_GE(stats.prepared_publishes, 5u);
      EXPECT_GE(stats.log_files_appended, 1u);
      if (prepare == Publish::kAppendedLogFiles) {
        EXPECT_EQ(stats.log_files_filled, 0u);
        EXPECT_EQ(stats.prepared_files, 0u);
      } else {
        EXPECT_GE(stats.log_files_filled, 1u);
      }
      std::vector<SegmentEntry> raw;
      ASSERT_TRUE(ListSegmentFiles(&fs, kDb, &raw).ok());
      EXPECT_GE(raw.size(), 2u);
      EXPECT_LT(raw.size(), 5u);
      for (const std::string& name : fs.Names("/db")) EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
    } else if (prepare == Publish::kPreparedFiles) {
      // Epoch 0 has no prepared file yet; later epochs go into prepared files, except where
      // an empty epoch consumed the number prepared for it.
      EXPECT_GE(stats.prepared_publishes, 3u);
      EXPECT_GE(stats.prepared_files, 1u);
      // Close removed every prepared file: only real segments are left.
      std::vector<SegmentEntry> raw, listed;
      ASSERT_TRUE(ListSegmentFiles(&fs, kDb, &raw).ok());
      ASSERT_TRUE(ListSegments(&fs, kDb, &listed).ok());
      EXPECT_EQ(raw.size(), 5u);
      EXPECT_EQ(listed.size(), 5u);
    }
  }
  ASSERT_GT(total_steps, 10u);
  const Tear tears[] = {Tear::kDrop, Tear::kCutShort, Tear::kZeroFill, Tear::kGarbage};
  size_t crashed_runs = 0, partial_runs = 0;
  for (uint64_t step = 1; step <= total_steps + 1; ++step) {
    for (Tear tear : tears) {
      const std::string where =
          "crash at step " + std::to_string(step) + " tear " + std::to_string(static_cast<int>(tear));
      FaultInjectingFileSystem fs;
      fs.MakeDir("/db");
      fs.CrashAtStep(step);
      RunResult r = RunDeterministic(&fs, prepare);
      if (fs.crashed()) ++crashed_runs;
      if (r.acked.size() < r.submitted.size()) ++partial_runs;
      fs.PowerLoss(tear, step);
      CheckRecovery(&fs, r.submitted, r.acked, where);
      ReopenAndContinue(&fs, &r.submitted, r.acked, where);
      if (::testing::Test::HasFailure()) return;
    }
  }
  // Every step but the one past the end crashed, and most runs lost unacknowledged work.
  EXPECT_EQ(crashed_runs, 4 * total_steps);
  EXPECT_GT(partial_runs, 2 * total_steps);
  std::printf("deterministic workload (publish %d): %llu steps, %zu crash runs\n",
              static_cast<int>(prepare), static_cast<unsigned long long>(total_steps),
              crashed_runs);
}

INSTANTIATE_TEST_SUITE_P(WalCrash, WalCrashEveryStep,
                         ::testing::Values(Publish::kNewFiles, Publish::kPreparedFiles,
                                           Publish::kLogFiles, Publish::kAppendedLogFiles));

// Concurrent producers with the running adaptive flusher; the crash lands at a random step.
TEST(WalCrash, RandomCrashesUnderConcurrentCommits) {
  std::mt19937_64 rng(20240601);
  for (int round = 0; round < 80; ++round) {
    FaultInjectingFileSystem fs;
    fs.MakeDir("/db");
    fs.CrashAtStep(1 + rng() % 60);
    WalOptions o;
    // Odd rounds: a background preparer thread races the flusher, making small log files
    // (rounds 1, 5, ...; grown by appends only in rounds 5, 13, ...) or a prepared file per
    // epoch (rounds 3, 7, ...).
    o.prepare = round % 2 == 1 ? PrepareMode::kBackground : PrepareMode::kOff;
    o.log_file_bytes = round % 4 == 1 ? kSmallLogFile : 0;
    o.log_fill = round % 8 == 5 ? LogFill::kNever : LogFill::kAlways;
    o.slot_count = 3;
    o.fs = &fs;
    o.fsync = FsyncPolicy::kFull;
    o.max_write_attempts = 2;
    std::shared_ptr<Wal> wal;
    std::mutex mu;
    RunResult r;
    if (Wal::Open(kDb, o, &wal).ok()) {
      std::vector<std::thread> ts;
      for (int t = 0; t < 3; ++t) {
        ts.emplace_back([&, t] {
          for (int i = 0; i < 30; ++i) {
            Commit c{static_cast<uint64_t>(t) * 1000 + i + 1, {}, 24};
            for (int p = 0; p <= i % 3; ++p) c.pages.push_back(static_cast<uint32_t>(p + 1));
            {
              std::lock_guard<std::mutex> g(mu);
              r.submitted[c.txn] = c;
            }
            uint64_t e;
            if (!SubmitCommit(wal.get(), t, c, &e).ok()) return;
            if (!wal->WaitForEpochDurable(e, 30000).ok()) return;
            std::lock_guard<std::mutex> g(mu);
            r.acked.insert(c.txn);
          }
        });
      }
      for (auto& t : ts) t.join();
      wal->Close(true);
    }
    const Tear tear = static_cast<Tear>(rng() % 4);
    fs.PowerLoss(tear, rng());
    const std::string where = "round " + std::to_string(round);
    CheckRecovery(&fs, r.submitted, r.acked, where);
    ReopenAndContinue(&fs, &r.submitted, r.acked, where);
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace pwal

namespace pwal {
namespace {

// One slot on `fs`, flushed by hand, with inline (deterministic) preparation.
WalOptions InlinePreparedByHand(FileSystem* fs) {
  WalOptions o;
  o.slot_count = 1;
  o.fs = fs;
  o.start_flusher = false;
  o.prepare = PrepareMode::kInline;
  o.log_file_bytes = 0;  // a prepared file per epoch
  return o;
}

// The same, writing epochs as frames into small log files.
WalOptions InlineLogByHand(FileSystem* fs) {
  WalOptions o = InlinePreparedByHand(fs);
  o.log_file_bytes = kSmallLogFile;
  o.log_fill = LogFill::kAlways;
  return o;
}

// Commits txns 1..n, one per epoch flushed by hand (each like `shape`: its pages and image
// size), all acknowledged; `arm` runs after txn `arm_at` is submitted, before its flush.
void CommitEachByHand(Wal* wal, const Commit& shape, uint64_t n, uint64_t arm_at,
                      const std::function<void()>& arm, std::map<uint64_t, Commit>* submitted,
                      std::set<uint64_t>* acked) {
  for (uint64_t txn = 1; txn <= n; ++txn) {
    Commit c{txn, shape.pages, shape.size};
    (*submitted)[txn] = c;
    uint64_t e;
    ASSERT_TRUE(SubmitCommit(wal, 0, c, &e).ok());
    if (txn == arm_at) arm();
    ASSERT_TRUE(wal->AdvanceAndFlush(10000, nullptr).ok()) << txn;
    acked->insert(txn);
  }
}

// A failed sync of a prepared file: the file is abandoned (deleted, never synced again) and
// the epoch is rewritten from memory into a new file; after power loss everything acknowledged
// is there.
TEST(WalPrepared, SyncFailureOfAPreparedFileRewritesTheEpochIntoANewFile) {
  for (Tear tear : {Tear::kDrop, Tear::kGarbage, Tear::kZeroFill}) {
    FaultInjectingFileSystem fs;
    fs.MakeDir("/db");
    WalOptions o = InlinePreparedByHand(&fs);
    o.max_write_attempts = 2;
    std::shared_ptr<Wal> wal;
    ASSERT_TRUE(Wal::Open(kDb, o, &wal).ok());
    std::map<uint64_t, Commit> submitted;
    std::set<uint64_t> acked;
    CommitEachByHand(wal.get(), Commit{0, {1, 2}, 100}, 3, 2,
                     [&] { fs.FailNth(FaultInjectingFileSystem::Op::kSync, 1, EIO); }, &submitted,
                     &acked);
    WalStats s = wal->Stats();
    EXPECT_EQ(s.write_failures, 1u);
    EXPECT_EQ(s.prepared_publishes, 1u);  // epoch 0: no file yet; 1: failed; 2: prepared
    EXPECT_EQ(s.segments_written, 3u);
    fs.PowerLoss(tear, 7);
    CheckRecovery(&fs, submitted, acked, "after a failed prepared sync");
    wal.reset();
  }
}


// An I/O error while preparing only stops preparation: later epochs go through new files, and
// nothing prepared is left behind after close.
TEST(WalPrepared, PreparationFailureFallsBackToNewFiles) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/db");
  const WalOptions o = InlinePreparedByHand(&fs);
  std::shared_ptr<Wal> wal;
  ASSERT_TRUE(Wal::Open(kDb, o, &wal).ok());
  std::map<uint64_t, Commit> submitted;
  std::set<uint64_t> acked;
  // Epoch 0 publishes through a new file (one rename); the next rename is the preparer's.
  CommitEachByHand(wal.get(), Commit{0, {1}, 64}, 4, 1,
                   [&] { fs.FailNth(FaultInjectingFileSystem::Op::kRename, 2, EIO); }, &submitted,
                   &acked);
  WalStats s = wal->Stats();
  EXPECT_EQ(s.prepared_publishes, 0u);
  EXPECT_EQ(s.write_failures, 0u);
  ASSERT_TRUE(wal->Close().ok());
  for (const std::string& name : fs.Names("/db")) {
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
  }
  fs.PowerLoss(Tear::kGarbage, 3);
  CheckRecovery(&fs, submitted, acked, "after a failed preparation");
}

// A failed write or sync of a frame: the log file is abandoned (never written or synced
// again; its earlier frames stay), the epoch is rewritten from memory into a new file, and the
// next epochs start a new log file. After power loss, whatever the tear, everything
// acknowledged is there and nothing else.
TEST(WalLog, AFailedFrameAbandonsTheLogFileAndTheEpochIsRewritten) {
  for (FaultInjectingFileSystem::Op op : {FaultInjectingFileSystem::Op::kWrite, FaultInjectingFileSystem::Op::kSync}) {
    for (Tear tear : {Tear::kDrop, Tear::kGarbage, Tear::kZeroFill, Tear::kCutShort}) {
      FaultInjectingFileSystem fs;
      fs.MakeDir("/db");
      WalOptions o = InlineLogByHand(&fs);
      o.max_write_attempts = 2;
      std::shared_ptr<Wal> wal;
      ASSERT_TRUE(Wal::Open(kDb, o, &wal).ok());
      std::map<uint64_t, Commit> submitted;
      std::set<uint64_t> acked;
      // Epoch 0: a log file grown by appends (nothing zero-filled yet); 1: starts a zero-filled
      // log file (ready now); 2: its second frame, whose write or sync fails; 3, 4: a new log
      // file.
      CommitEachByHand(wal.get(), Commit{0, {1, 2}, 100}, 5, 3,
                       [&] { fs.FailNth(op, 1, EIO); }, &submitted, &acked);
      WalStats s = wal->Stats();
      EXPECT_EQ(s.write_failures, 1u);
      EXPECT_EQ(s.prepared_publishes, 4u);  // frames of epochs 0, 1, 3, 4
      EXPECT_EQ(s.log_files_appended, 1u);
      EXPECT_EQ(s.log_files_filled, 2u);
      EXPECT_EQ(s.segments_written, 5u);
      ASSERT_TRUE(wal->Close().ok());
      std::vector<SegmentEntry> raw;
      ASSERT_TRUE(ListSegmentFiles(&fs, kDb, &raw).ok());
      ASSERT_EQ(raw.size(), 4u);  // epoch 0, the abandoned log (1, 2?), epoch 2 anew, the new log (3, 4)
      EXPECT_EQ(raw[2].epoch, raw[1].epoch + 1);
      fs.PowerLoss(tear, 11);
      CheckRecovery(&fs, submitted, acked, "after a failed frame");
      ReopenAndContinue(&fs, &submitted, acked, "after a failed frame");
    }
  }
}

// Frames fill a log file slot by slot; the next epoch that does not fit starts a new one. A
// reopened WAL never writes into an existing log file: it starts a new one after its last frame.
TEST(WalLog, EpochsFillLogFilesInTurnAndAReopenStartsANewOne) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/db");
  std::map<uint64_t, Commit> submitted;
  std::set<uint64_t> acked;
  {
    std::shared_ptr<Wal> wal;
    ASSERT_TRUE(Wal::Open(kDb, InlineLogByHand(&fs), &wal).ok());
    CommitEachByHand(wal.get(), Commit{0, {1}, 64}, 10, 0, [] {}, &submitted, &acked);
    EXPECT_EQ(wal->Stats().prepared_publishes, 10u);
    ASSERT_TRUE(wal->Close().ok());
  }
  std::vector<SegmentEntry> raw;
  ASSERT_TRUE(ListSegmentFiles(&fs, kDb, &raw).ok());
  // Epoch 0 alone in a log file grown by appends (the first zero-filled one is made after it
  // and taken at once), then 4 frames per zero-filled log file: 1-4, 5-8, 9.
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(raw[1].epoch, 1u);
  EXPECT_EQ(raw[2].epoch, 5u);
  EXPECT_EQ(raw[3].epoch, 9u);
  // Close cut the last log file after its one frame; the full ones keep their size.
  std::string bytes;
  ASSERT_TRUE(fs.GetFile(raw[0].path, &bytes));
  EXPECT_EQ(bytes.size(), kLogFrameAlign) << "a log file grown by appends ends at its last slot";
  ASSERT_TRUE(fs.GetFile(raw[3].path, &bytes));
  EXPECT_EQ(bytes.size(), kLogFrameAlign);
  ASSERT_TRUE(fs.GetFile(raw[2].path, &bytes));
  EXPECT_EQ(bytes.size(), kSmallLogFile);
  std::optional<uint64_t> max;
  ASSERT_TRUE(MaxDurableEpoch(&fs, kDb, &max).ok());
  EXPECT_EQ(max.value_or(0), 9u);
  fs.PowerLoss(Tear::kGarbage, 5);
  CheckRecovery(&fs, submitted, acked, "after filling log files");
  ReopenAndContinue(&fs, &submitted, acked, "after filling log files");
  std::vector<SegmentEntry> after;
  ASSERT_TRUE(ListSegmentFiles(&fs, kDb, &after).ok());
  EXPECT_EQ(after.size(), raw.size() + 1) << "the reopened WAL wrote into an existing log file";
}

// An epoch published outside the current log file (too big for a frame, here) ends that file:
// the next epoch starts a new one. Appending to the old file after it would put a frame after
// a later file, where recovery rightly treats it as superseded.
TEST(WalLog, AnEpochPublishedElsewhereEndsTheCurrentLogFile) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/db");
  std::shared_ptr<Wal> wal;
  ASSERT_TRUE(Wal::Open(kDb, InlineLogByHand(&fs), &wal).ok());
  std::map<uint64_t, Commit> submitted;
  std::set<uint64_t> acked;
  CommitEachByHand(wal.get(), Commit{0, {1}, 64}, 3, 0, [] {}, &submitted, &acked);
  // Larger than a whole (16 KiB) log file: published as a file of its own.
  Commit c{4, {1, 2, 3, 4, 5}, 4000};
  submitted[4] = c;
  uint64_t e;
  ASSERT_TRUE(SubmitCommit(wal.get(), 0, c, &e).ok());
  ASSERT_TRUE(wal->AdvanceAndFlush(10000, nullptr).ok());
  acked.insert(4);
  for (uint64_t txn = 5; txn <= 6; ++txn) {
    Commit small{txn, {1}, 64};
    submitted[txn] = small;
    ASSERT_TRUE(SubmitCommit(wal.get(), 0, small, &e).ok());
    ASSERT_TRUE(wal->AdvanceAndFlush(10000, nullptr).ok());
    acked.insert(txn);
  }
  ASSERT_TRUE(wal->Close().ok());
  fs.PowerLoss(Tear::kGarbage, 9);
  CheckRecovery(&fs, submitted, acked, "after an epoch published outside the log file");
}

// Commits one epoch of `c` (flushed by hand) and records it as submitted and acknowledged.
void CommitEpoch(Wal* wal, const Commit& c, std::map<uint64_t, Commit>* submitted,
                 std::set<uint64_t>* acked) {
  (*submitted)[c.txn] = c;
  uint64_t e;
  ASSERT_TRUE(SubmitCommit(wal, 0, c, &e).ok());
  ASSERT_TRUE(wal->AdvanceAndFlush(10000, nullptr).ok());
  acked->insert(c.txn);
}

// InlineLogByHand with LogFill::kAuto, 4 MiB log files and a fake clock: *now_ns.
WalOptions AutoFillByHand(FileSystem* fs, int64_t* now_ns) {
  WalOptions o = InlineLogByHand(fs);
  o.log_file_bytes = 4u << 20;
  o.log_fill = LogFill::kAuto;
  o.clock_ns = [now_ns] { return *now_ns; };
  return o;
}

// LogFill::kAuto, on a fake clock: nothing is zero-filled at first; frames taking slots at a
// high rate (a busy disk) keep growing log files by appending, with no zero-fill ahead; at a low
// rate a zero-filled file is made and the next frame moves into it at once, ending the appended
// file early.
TEST(WalLog, AutoFillAppendsUnderAHighRateAndZeroFillsAtALowOne) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/db");
  int64_t now_ns = 1;
  WalOptions o = AutoFillByHand(&fs, &now_ns);
  o.buffer_capacity_bytes = 4u << 20;
  std::shared_ptr<Wal> wal;
  ASSERT_TRUE(Wal::Open(kDb, o, &wal).ok());
  std::map<uint64_t, Commit> submitted;
  std::set<uint64_t> acked;
  uint64_t txn = 1;
  // 120 epochs of ~300 KB frames, one every 2 ms: ~150 MB/s of slots. 13 frames fit in a 4 MiB
  // file: files at epochs 0, 13, ..., 117, all grown by appending.
  for (int i = 0; i < 120; ++i, ++txn, now_ns += 2000000) {
    CommitEpoch(wal.get(), Commit{txn, {1, 2, 3, 4, 5}, 60000}, &submitted, &acked);
  }
  WalStats s = wal->Stats();
  EXPECT_EQ(s.log_files_appended, 10u);
  EXPECT_EQ(s.log_files_filled, 0u);
  EXPECT_EQ(s.prepared_files, 0u) << "nothing may be zero-filled while the rate is high";
  // Small frames, one every 10 ms (0.4 MB/s): the window that ends after the 11th decides to
  // zero-fill, a file is filled (inline, after that epoch), and the next frame starts it.
  for (int i = 0; i < 14; ++i, ++txn, now_ns += 10000000) {
    CommitEpoch(wal.get(), Commit{txn, {1}, 64}, &submitted, &acked);
  }
  s = wal->Stats();
  EXPECT_EQ(s.log_files_appended, 10u);
  EXPECT_EQ(s.log_files_filled, 1u);
  EXPECT_EQ(s.prepared_publishes, 134u) << "every epoch is a frame";
  ASSERT_TRUE(wal->Close().ok());
  std::vector<SegmentEntry> raw;
  ASSERT_TRUE(ListSegmentFiles(&fs, kDb, &raw).ok());
  ASSERT_EQ(raw.size(), 11u);
  EXPECT_EQ(raw[1].epoch, 13u);
  std::string first, last_appended;
  ASSERT_TRUE(fs.GetFile(raw[0].path, &first));
  ASSERT_TRUE(fs.GetFile(raw[9].path, &last_appended));
  EXPECT_LT(first.size(), o.log_file_bytes);
  EXPECT_GT(first.size(), 12 * 300000u);
  // The last appended file ends early, at its last frame: epochs 117-119 and the small frames
  // written before the switch (one 4 KiB slot each).
  EXPECT_LT(last_appended.size(), 3 * 296 * 1024 + 16 * kLogFrameAlign);
  fs.PowerLoss(Tear::kGarbage, 13);
  CheckRecovery(&fs, submitted, acked, "after appended and zero-filled log files");
  ReopenAndContinue(&fs, &submitted, acked, "after appended and zero-filled log files");
}

// LogFill::kAuto's thresholds, on a fake clock with one-slot (4 KiB) frames: the first window
// decides at 96 MiB/s; after that a rate between 64 and 128 MiB/s changes nothing, whichever
// way the choice went.
TEST(WalLog, AutoFillHoldsItsChoiceBetweenTheThresholds) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/db");
  int64_t now_ns = 1;
  std::shared_ptr<Wal> wal;
  ASSERT_TRUE(Wal::Open(kDb, AutoFillByHand(&fs, &now_ns), &wal).ok());  // 1024 slots per file
  std::map<uint64_t, Commit> submitted;
  std::set<uint64_t> acked;
  uint64_t txn = 1;
  const auto run = [&](int frames, int64_t every_ns) {
    for (int i = 0; i < frames; ++i, ++txn, now_ns += every_ns) {
      CommitEpoch(wal.get(), Commit{txn, {1}, 64}, &submitted, &acked);
      if (::testing::Test::HasFatalFailure()) return;
    }
  };
  // A slot every 40 µs: ~98 MiB/s. The first window (100 ms) decides: at or above 96 MiB/s,
  // append; the next windows, in the band, keep it.
  run(5200, 40000);
  WalStats s = wal->Stats();
  EXPECT_EQ(s.prepared_files, 0u) << "the first window at ~98 MiB/s must choose appending";
  EXPECT_EQ(s.log_files_filled, 0u);
  EXPECT_GE(s.log_files_appended, 5u);
  // A slot every 1 ms: zero-filling; the next frame moves into the filled file.
  run(150, 1000000);
  s = wal->Stats();
  EXPECT_EQ(s.log_files_filled, 1u);
  const uint64_t appended = s.log_files_appended;
  // Back in the band: zero-filling stays, every new file is filled.
  run(2600, 40000);
  s = wal->Stats();
  EXPECT_EQ(s.log_files_appended, appended) << "a rate between the thresholds must not switch to appending";
  EXPECT_GE(s.log_files_filled, 3u);
  ASSERT_TRUE(wal->Close().ok());
  fs.PowerLoss(Tear::kCutShort, 21);
  CheckRecovery(&fs, submitted, acked, "after log files of both kinds");
}

// Epochs over 1 MiB are not frames even when the log file has room: they go into a segment
// file of their own, which ends the current log file.
TEST(WalLog, EpochsOverOneMebibyteAreFilesOfTheirOwn) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/db");
  WalOptions o = InlineLogByHand(&fs);
  o.log_file_bytes = 4u << 20;
  o.buffer_capacity_bytes = 4u << 20;
  std::shared_ptr<Wal> wal;
  ASSERT_TRUE(Wal::Open(kDb, o, &wal).ok());
  std::map<uint64_t, Commit> submitted;
  std::set<uint64_t> acked;
  CommitEpoch(wal.get(), Commit{1, {1}, 64}, &submitted, &acked);
  CommitEpoch(wal.get(), Commit{2, {1}, 64}, &submitted, &acked);
  std::vector<uint32_t> pages;
  for (uint32_t p = 1; p <= 20; ++p) pages.push_back(p);
  CommitEpoch(wal.get(), Commit{3, pages, 60000}, &submitted, &acked);  // 1.2 MB
  CommitEpoch(wal.get(), Commit{4, {1}, 64}, &submitted, &acked);
  EXPECT_EQ(wal->Stats().prepared_publishes, 3u);
  ASSERT_TRUE(wal->Close().ok());
  std::vector<SegmentEntry> raw;
  ASSERT_TRUE(ListSegmentFiles(&fs, kDb, &raw).ok());
  // Log files of epochs 0 (appended) and 1 (zero-filled), the big epoch 2 alone, a new log file
  // for epoch 3.
  ASSERT_EQ(raw.size(), 4u);
  const bool want_log[] = {true, true, false, true};
  for (size_t i = 0; i < raw.size(); ++i) {
    EXPECT_EQ(raw[i].epoch, i);
    std::string bytes;
    ASSERT_TRUE(fs.GetFile(raw[i].path, &bytes));
    EXPECT_EQ(IsLogFileImage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), want_log[i]) << raw[i].path;
  }
  fs.PowerLoss(Tear::kGarbage, 17);
  CheckRecovery(&fs, submitted, acked, "after an epoch over 1 MiB");
}

}  // namespace
}  // namespace pwal

// ---- Checkpoints (Wal::Checkpoint, wal_checkpoint.cc) ---------------------------------------

namespace pwal {
namespace {

// What a checkpoint test submitted, had acknowledged, and the epoch of each acknowledged txn.
struct History : RunResult {
  std::map<uint64_t, uint64_t> epochs_of;
  // The acknowledged txns a checkpoint at `upto` must keep: every one of a later epoch.
  std::set<uint64_t> AckedAfter(uint64_t upto) const {
    std::set<uint64_t> out;
    for (uint64_t txn : acked) {
      if (epochs_of.at(txn) > upto) out.insert(txn);
    }
    return out;
  }
};

// Commits txns first..last, one epoch each (flushed by hand), into *h; false at the first
// failure (an injected crash), with the failed txn submitted but not acknowledged.
bool CommitRange(Wal* wal, uint64_t first, uint64_t last, History* h) {
  for (uint64_t txn = first; txn <= last; ++txn) {
    Commit c{txn, {static_cast<uint32_t>(txn % 5 + 1)}, 64};
    h->submitted[txn] = c;
    uint64_t e;
    if (!SubmitCommit(wal, 0, c, &e).ok() || !wal->AdvanceAndFlush(10000, nullptr).ok()) return false;
    h->acked.insert(txn);
    h->epochs_of[txn] = e;
  }
  return true;
}

// Log files of 4 slots, one epoch per frame: epoch 0 alone (appended), then 1-4, 5-8, 9.
// A checkpoint deletes the files whose epochs are all <= its epoch, never a file that holds a
// later one, and never the newest; what it keeps recovers, survives power loss and continues.
TEST(WalCheckpoint, DeletesWholeFilesUpToTheEpochAndKeepsTheNewest) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/db");
  History h;
  std::shared_ptr<Wal> wal;
  ASSERT_TRUE(Wal::Open(kDb, InlineLogByHand(&fs), &wal).ok());
  ASSERT_TRUE(CommitRange(wal.get(), 1, 10, &h));
  ASSERT_EQ(h.epochs_of[1], 0u);
  ASSERT_EQ(h.epochs_of[10], 9u);
  std::vector<SegmentEntry> files;
  ASSERT_TRUE(ListSegmentFiles(&fs, kDb, &files).ok());
  ASSERT_EQ(files.size(), 4u);
  ASSERT_EQ(files[2].epoch, 5u);

  Wal::CheckpointResult cp;
  ASSERT_TRUE(wal->Checkpoint(3, &cp).ok());  // epoch 4 shares file 1-4: only file 0 goes
  EXPECT_EQ(cp.files_deleted, 1u);
  EXPECT_EQ(cp.bytes_freed, kLogFrameAlign);
  EXPECT_EQ(cp.first_retained_epoch.value_or(0), 1u);
  ASSERT_TRUE(wal->Checkpoint(4, &cp).ok());
  EXPECT_EQ(cp.files_deleted, 1u);
  EXPECT_EQ(cp.bytes_freed, kSmallLogFile);
  EXPECT_EQ(cp.first_retained_epoch.value_or(0), 5u);
  ASSERT_TRUE(wal->Checkpoint(4, &cp).ok());  // again: nothing left to do
  EXPECT_EQ(cp.files_deleted, 0u);
  EXPECT_EQ(cp.first_retained_epoch.value_or(0), 5u);
  // Beyond the durable epoch (9): clamped to it. File 5-8 goes; file 9, the newest, stays even
  // though every epoch in it is <= 9.
  ASSERT_TRUE(wal->Checkpoint(1000, &cp).ok());
  EXPECT_EQ(cp.files_deleted, 1u);
  EXPECT_EQ(cp.first_retained_epoch.value_or(0), 9u);

  // The WAL goes on writing after the checkpoints.
  ASSERT_TRUE(CommitRange(wal.get(), 11, 14, &h));
  ASSERT_TRUE(wal->Close().ok());
  Wal::CheckpointResult closed;
  EXPECT_EQ(wal->Checkpoint(1000, &closed).code(), Status::Code::kClosed);
  fs.PowerLoss(Tear::kGarbage, 3);
  std::set<uint64_t> got = CheckRecovery(&fs, h.submitted, h.AckedAfter(8),
                                         "after checkpoints");
  EXPECT_EQ(got, h.AckedAfter(8)) << "exactly the files after the checkpoint";
  ReopenAndContinue(&fs, &h.submitted, h.AckedAfter(8), "after checkpoints");
}

// With a prepared file per epoch (no log files): every epoch is a file of its own, so a
// checkpoint deletes exactly the epochs up to it, except the newest; the next epoch's prepared
// (unwritten) file does not count as a later file.
TEST(WalCheckpoint, FilePerEpochDeletesEachEpochUpToTheNewest) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/db");
  History h;
  std::shared_ptr<Wal> wal;
  ASSERT_TRUE(Wal::Open(kDb, InlinePreparedByHand(&fs), &wal).ok());
  ASSERT_TRUE(CommitRange(wal.get(), 1, 6, &h));
  Wal::CheckpointResult cp;
  ASSERT_TRUE(wal->Checkpoint(2, &cp).ok());
  EXPECT_EQ(cp.files_deleted, 3u);  // epochs 0, 1, 2
  EXPECT_EQ(cp.first_retained_epoch.value_or(0), 3u);
  ASSERT_TRUE(wal->Checkpoint(5, &cp).ok());
  EXPECT_EQ(cp.files_deleted, 2u) << "epoch 5 is the newest published file";
  EXPECT_EQ(cp.first_retained_epoch.value_or(0), 5u);
  ASSERT_TRUE(wal->Close().ok());
  fs.PowerLoss(Tear::kDrop, 1);
  std::set<uint64_t> got = CheckRecovery(&fs, h.submitted, h.AckedAfter(4), "per-epoch files");
  EXPECT_EQ(got, h.AckedAfter(4));
  ReopenAndContinue(&fs, &h.submitted, h.AckedAfter(4), "per-epoch files");
}

// Files a checkpoint took out of the log and has not deleted: pool temporaries (what checkpoints
// rename files to) that hold frames, unlike the preparer's zero-filled ones.
size_t RetiredFiles(FaultInjectingFileSystem* fs) {
  std::vector<std::string> names;
  EXPECT_TRUE(fs->ListDir("/db", &names).ok());
  size_t n = 0;
  for (const std::string& name : names) {
    if (name.find(std::string(kSegmentTempInfix) + kPreparedTempTag) == std::string::npos) continue;
    std::string bytes;
    EXPECT_TRUE(fs->ReadFile("/db/" + name, &bytes).ok());
    if (bytes.find_first_not_of('\0') != std::string::npos) ++n;
  }
  return n;
}

// A checkpoint whose rename, directory sync or deletion fails (EIO, ENOSPC) reports it: an
// IoError with the errno, naming the checkpoint and the file or directory. The WAL is not failed
// and keeps committing. A failed rename or directory sync stops the retiring there: the files
// taken out of the log are the oldest, so the log is still a suffix. A failed deletion comes
// after every rename: the file is out of the log already, and the next checkpoint deletes it.
// Nothing acknowledged after the checkpoint's epoch is lost, also after power loss; the next
// checkpoint finishes the job and leaves no temporary behind.
TEST(WalCheckpoint, AFailedRenameDeletionOrDirectorySyncIsReportedAndLosesNothing) {
  for (FailOp op : {FailOp::kRename, FailOp::kDelete, FailOp::kDirSync}) {
    for (int err : {5, 28}) {
      const std::string where = std::string(FailOpName(op)) + " errno " + std::to_string(err);
      FaultInjectingFileSystem fs;
      fs.MakeDir("/db");
      FailingFileSystem failing(&fs);
      History h;
      std::shared_ptr<Wal> wal;
      ASSERT_TRUE(Wal::Open(kDb, InlineLogByHand(&failing), &wal).ok());
      ASSERT_TRUE(CommitRange(wal.get(), 1, 13, &h));  // files of epochs 0, 1-4, 5-8, 9-12
      failing.Arm(FailSpec{op, 2, /*persistent=*/false, err});
      Wal::CheckpointResult cp;
      const Status st = wal->Checkpoint(10, &cp);
      EXPECT_EQ(st.code(), Status::Code::kIoError) << where << ": " << st.ToString();
      EXPECT_EQ(st.sys_errno(), err) << where;
      EXPECT_NE(st.message().find("checkpoint"), std::string::npos) << st.ToString();
      const char* names = op == FailOp::kRename   ? "rename /db/"
                          : op == FailOp::kDelete ? "unlink /db/"
                                                  : "fsync dir /db";
      EXPECT_NE(st.message().find(names), std::string::npos) << st.ToString();
      EXPECT_FALSE(wal->IsFailed()) << where;
      failing.Disarm();
      // The second rename failed: file 0 is out. The second directory sync failed: the second
      // rename happened (not known durable), files 0 and 1-4 are out. The second deletion
      // failed: all three files are out, one of them not deleted yet.
      std::vector<SegmentEntry> files;
      ASSERT_TRUE(ListSegmentFiles(&fs, kDb, &files).ok());
      ASSERT_FALSE(files.empty());
      const uint64_t front = op == FailOp::kRename ? 1u : op == FailOp::kDirSync ? 5u : 9u;
      EXPECT_EQ(files.front().epoch, front) << where;
      EXPECT_EQ(RetiredFiles(&fs), op == FailOp::kDelete ? 1u : 0u) << where;

      ASSERT_TRUE(CommitRange(wal.get(), 14, 16, &h)) << where;  // epochs 13-15
      ASSERT_TRUE(wal->Checkpoint(10, &cp).ok()) << where;
      EXPECT_EQ(cp.first_retained_epoch.value_or(0), 9u) << where;
      EXPECT_EQ(RetiredFiles(&fs), 0u) << where << ": the next checkpoint deletes what is left";
      ASSERT_TRUE(wal->Close().ok());
      fs.PowerLoss(Tear::kGarbage, static_cast<uint64_t>(err));
      const std::set<uint64_t> keep = h.AckedAfter(10);
      const std::set<uint64_t> got = CheckRecovery(&fs, h.submitted, keep, where);
      EXPECT_EQ(got, h.AckedAfter(8)) << where << ": exactly the files from epoch 9 on";
      ReopenAndContinue(&fs, &h.submitted, keep, where);
    }
  }
}

// Power loss at every I/O step of a checkpoint (and of the commits that follow it), with every
// tear: recovery never reports a gap, keeps every acknowledged commit after the checkpoint's
// epoch, and the log continues after a reopen.
TEST(WalCheckpoint, ACrashAtAnyStepLeavesASuffixOfTheLog) {
  // 13 epochs in log files of 4 slots, a checkpoint at 10 (three files go), two more commits.
  // Returns the number of I/O steps taken before the checkpoint.
  auto run = [](FaultInjectingFileSystem* fs, History* h, uint64_t crash_at) -> uint64_t {
    std::shared_ptr<Wal> wal;
    WalOptions o = InlineLogByHand(fs);
    o.checkpoint_step_bytes = kLogFrameAlign;  // retired files shrink a slot at a time
    o.checkpoint_step_pause_ns = 0;
    EXPECT_TRUE(Wal::Open(kDb, o, &wal).ok());
    if (!wal) return 0;
    EXPECT_TRUE(CommitRange(wal.get(), 1, 13, h));
    const uint64_t before = fs->steps();
    if (crash_at > 0) fs->CrashAtStep(crash_at);
    Wal::CheckpointResult cp;
    if (wal->Checkpoint(10, &cp).ok()) {
      EXPECT_TRUE(crash_at > 0 || cp.files_deleted == 3u);
      CommitRange(wal.get(), 14, 15, h);  // may stop at the injected crash
    }
    wal->Close(true);
    return before;
  };
  uint64_t first = 0, last = 0;
  {
    FaultInjectingFileSystem fs;
    fs.MakeDir("/db");
    History h;
    first = run(&fs, &h, 0) + 1;
    ASSERT_EQ(h.acked.size(), 15u);
    last = fs.steps();
  }
  ASSERT_GT(last, first + 12) << "the checkpoint renames files, syncs the directory, shrinks and deletes them";
  const Tear tears[] = {Tear::kDrop, Tear::kCutShort, Tear::kZeroFill, Tear::kGarbage};
  for (uint64_t step = first; step <= last; ++step) {
    for (Tear tear : tears) {
      const std::string where = "checkpoint crash at step " + std::to_string(step) + " tear " +
                                std::to_string(static_cast<int>(tear));
      FaultInjectingFileSystem fs;
      fs.MakeDir("/db");
      History h;
      run(&fs, &h, step);
      EXPECT_TRUE(fs.crashed()) << where;
      fs.PowerLoss(tear, step);
      const std::set<uint64_t> keep = h.AckedAfter(10);
      CheckRecovery(&fs, h.submitted, keep, where);
      ReopenAndContinue(&fs, &h.submitted, keep, where);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// Records the sizes retired files are shrunk to (Truncate on a reopened pool temporary).
class ShrinkRecordingFs : public FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  std::vector<std::pair<std::string, uint64_t>> shrinks;  // (path, new size), in call order

  Status ReopenForOverwrite(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    PWAL_RETURN_IF_ERROR(FileSystemWrapper::ReopenForOverwrite(path, out));
    out->reset(new File(std::move(*out), this, path));
    return Status::OK();
  }

 private:
  class File : public WritableFileWrapper {
   public:
    File(std::unique_ptr<WritableFile> base, ShrinkRecordingFs* fs, std::string path)
        : WritableFileWrapper(std::move(base)), fs_(fs), path_(std::move(path)) {}
    Status Truncate(uint64_t size) override {
      fs_->shrinks.emplace_back(path_, size);
      return WritableFileWrapper::Truncate(size);
    }

   private:
    ShrinkRecordingFs* fs_;
    std::string path_;
  };
};

// On real files (the POSIX file system): a checkpoint shrinks each retired log file from the
// end, a step at a time, then deletes it; nothing of it is left in the directory, and the log
// that is left recovers strictly.
TEST(WalCheckpoint, ShrinksRetiredFilesStepByStepOnRealFiles) {
  pwal::testing::TempDir dir;
  ShrinkRecordingFs fs(FileSystem::Default());
  WalOptions o = InlineLogByHand(&fs);
  o.checkpoint_step_bytes = kLogFrameAlign;
  o.checkpoint_step_pause_ns = 0;
  const std::string db = dir.Join("real.db");
  std::shared_ptr<Wal> wal;
  ASSERT_TRUE(Wal::Open(db, o, &wal).ok());
  History h;
  ASSERT_TRUE(CommitRange(wal.get(), 1, 13, &h));  // files of epochs 0, 1-4, 5-8, 9-12
  Wal::CheckpointResult cp;
  ASSERT_TRUE(wal->Checkpoint(10, &cp).ok());
  EXPECT_EQ(cp.files_deleted, 3u);
  EXPECT_EQ(cp.first_retained_epoch.value_or(0), 9u);
  // Files 1-4 and 5-8 fill their 4 slots: each shrinks to 3, 2, 1 slots (file 0 is one slot).
  std::map<std::string, std::vector<uint64_t>> by_file;
  for (const auto& [path, size] : fs.shrinks) {
    EXPECT_NE(path.find(std::string(kSegmentTempInfix) + kPreparedTempTag), std::string::npos) << path;
    by_file[path].push_back(size);
  }
  ASSERT_EQ(by_file.size(), 2u);
  for (const auto& [path, sizes] : by_file) {
    EXPECT_EQ(sizes, (std::vector<uint64_t>{3 * kLogFrameAlign, 2 * kLogFrameAlign, kLogFrameAlign})) << path;
    EXPECT_TRUE(pwal::testing::Slurp(path).empty()) << path << " is deleted";
  }
  ASSERT_TRUE(wal->Close().ok());
  RecoveryResult rr;
  std::vector<WalRecord> records;
  ASSERT_TRUE(RecoverSegments(FileSystem::Default(), db, RecoveryOptions(), &rr, &records).ok());
  EXPECT_EQ(rr.segments_recovered, 4u) << "epochs 9-12 are the frames left";
}

// Checkpoints beside a running flusher, a background preparer and three producer threads (run
// under TSan in CI). The main thread commits too and, after each of its commits, checkpoints a
// few epochs behind the durable one (an application applying the log with a lag): every
// acknowledged commit after the last checkpoint recovers.
TEST(WalCheckpoint, RunsBesideTheFlusherAndTheProducers) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/db");
  WalOptions o;
  o.prepare = PrepareMode::kBackground;
  o.log_file_bytes = kSmallLogFile;
  o.log_fill = LogFill::kAlways;
  o.slot_count = 4;
  o.fs = &fs;
  std::shared_ptr<Wal> wal;
  ASSERT_TRUE(Wal::Open(kDb, o, &wal).ok());
  std::mutex mu;
  History h;
  auto commit = [&](size_t slot, uint64_t txn, uint32_t page) {
    Commit c{txn, {page}, 200};
    {
      std::lock_guard<std::mutex> g(mu);
      h.submitted[c.txn] = c;
    }
    uint64_t e;
    if (!SubmitCommit(wal.get(), slot, c, &e).ok()) return false;
    if (!wal->WaitForEpochDurable(e, 30000).ok()) return false;
    std::lock_guard<std::mutex> g(mu);
    h.acked.insert(c.txn);
    h.epochs_of[c.txn] = e;
    return true;
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < 3; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        EXPECT_TRUE(commit(t, static_cast<uint64_t>(t) * 1000 + i + 1, i % 4 + 1));
      }
    });
  }
  uint64_t upto = 0, deleted = 0;
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(commit(3, 3000 + i + 1, 9));
    const std::optional<uint64_t> d = wal->DurableEpoch();
    ASSERT_TRUE(d.has_value());
    if (*d < 3) continue;
    upto = *d - 3;
    Wal::CheckpointResult cp;
    ASSERT_TRUE(wal->Checkpoint(upto, &cp).ok());
    deleted += cp.files_deleted;
  }
  for (auto& t : ts) t.join();
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_GT(deleted, 0u);
  std::set<uint64_t> got = CheckRecovery(&fs, h.submitted, h.AckedAfter(upto), "beside the flusher");
  EXPECT_LT(got.size(), h.acked.size()) << "files were deleted";
}

}  // namespace
}  // namespace pwal
