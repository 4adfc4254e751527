// Wal: the seed's coordinator, ticker and registry tests ported, plus the adaptive flusher,
// backpressure, failure injection (rewrite into a new file / fatal), close/abort, restart,
// locking and a many-thread durability check against RecoverSegments.
#include "wal.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "failing_file_system.h"
#include "fault_file_system.h"
#include "segment.h"
#include "test_util.h"
#include "wal_test_util.h"

namespace pwal {
namespace {

using ::pwal::testing::TempDir;

// The seed's sample batch: txn 11 / seq 77, pages 7 (16 x 0xAA) and 9 (24 x 0xBB, db size 12).
struct SampleBatch {
  std::vector<uint8_t> a = std::vector<uint8_t>(16, 0xAA);
  std::vector<uint8_t> b = std::vector<uint8_t>(24, 0xBB);
  SubmitFrame frames[2];
  SubmitBatch batch;
  SampleBatch(uint64_t txn, uint64_t seq) {
    frames[0] = SubmitFrame{7, a.data(), a.size(), 0};
    frames[1] = SubmitFrame{9, b.data(), b.size(), 12};
    batch.txn_id = txn;
    batch.commit_seq = seq;
    batch.frames = frames;
    batch.frame_count = 2;
  }
};

// One frame whose image encodes (txn, page) so recovery can check the bytes.
struct OneFrame {
  std::vector<uint8_t> image;
  SubmitFrame frame;
  SubmitBatch batch;
  OneFrame(uint64_t txn, uint64_t seq, uint32_t page = 1, size_t size = 128) {
    image.resize(size);
    for (size_t i = 0; i < size; ++i) image[i] = static_cast<uint8_t>(txn * 31 + page + i);
    frame = SubmitFrame{page, image.data(), image.size(), 0};
    batch.txn_id = txn;
    batch.commit_seq = seq;
    batch.frames = &frame;
    batch.frame_count = 1;
  }
};

using ::pwal::testing::Stopped;

using ::pwal::testing::MustOpen;

std::vector<WalRecord> Recover(FileSystem* fs, const std::string& db, RecoveryResult* res = nullptr) {
  RecoveryResult r;
  std::vector<WalRecord> records;
  Status st = RecoverSegments(fs, db, RecoveryOptions(), &r, &records);
  EXPECT_TRUE(st.ok()) << st.ToString();
  if (res != nullptr) *res = r;
  return records;
}

// ---- the seed's tests ------------------------------------------------------------------------

TEST(Wal, ParallelWalCoordinatorCreation) {
  TempDir dir;
  auto wal = MustOpen(dir.Join("test.db"), Stopped(128));
  EXPECT_EQ(wal->CurrentEpoch(), 0u);
  EXPECT_EQ(wal->DurableEpoch(), std::nullopt);
  EXPECT_FALSE(wal->IsRunning());
}

TEST(Wal, ThreadSlotAssignment) {
  size_t slot1 = ThreadSlot(4);
  size_t slot2 = ThreadSlot(4);
  EXPECT_EQ(slot1, slot2);
  EXPECT_LT(slot1, 4u);
  ResetThreadSlotCounterForTesting();
  std::vector<size_t> wave(2);
  std::thread a([&] { wave[0] = ThreadSlot(2); });
  a.join();
  std::thread b([&] { wave[1] = ThreadSlot(2); });
  b.join();
  std::sort(wave.begin(), wave.end());
  EXPECT_EQ(wave, (std::vector<size_t>{0, 1}));
}

TEST(Wal, GlobalCoordinatorRegistry) {
  TempDir dir;
  const std::string path = dir.Join("test_registry.db");
  Status st;
  auto c1 = AcquireWal(path, Stopped(), &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto c2 = AcquireWal(dir.path() + "/./test_registry.db", Stopped(), &st);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(c1.get(), c2.get());
  EXPECT_EQ(FindWal(path).get(), c1.get());
  EXPECT_TRUE(RemoveWal(path).ok());
  EXPECT_EQ(FindWal(path), nullptr);
  EXPECT_TRUE(c1->IsClosed());
  EXPECT_EQ(RemoveWal(path).code(), Status::Code::kNotFound);
}

TEST(Wal, EpochTickerStartStop) {
  TempDir dir;
  WalOptions o = Stopped(4);
  o.policy = FlushPolicy::kTicker;
  o.epoch_interval_ms = 5;
  auto wal = MustOpen(dir.Join("test_ticker.db"), o);
  EXPECT_FALSE(wal->IsRunning());
  ASSERT_TRUE(wal->Start().ok());
  EXPECT_TRUE(wal->IsRunning());
  EXPECT_FALSE(wal->Start().ok()) << "a second start must fail";
  wal->Stop();
  EXPECT_FALSE(wal->IsRunning());
  wal->Stop();
  EXPECT_FALSE(wal->IsRunning());
}

TEST(Wal, EpochTickerAdvancesEpochs) {
  TempDir dir;
  WalOptions o = Stopped(2);
  o.policy = FlushPolicy::kTicker;
  o.epoch_interval_ms = 5;
  auto wal = MustOpen(dir.Join("test_ticker_advance.db"), o);
  const uint64_t initial = wal->CurrentEpoch();
  ASSERT_TRUE(wal->Start().ok());
  // Nothing is submitted: the ticker must still advance (no stall on inactive slots).
  ASSERT_TRUE(wal->WaitForEpochDurable(initial + 2, 10000).ok());
  wal->Stop();
  EXPECT_GT(wal->CurrentEpoch(), initial + 2);
  EXPECT_EQ(wal->Stats().segments_written, 0u) << "empty epochs never create files";
}

TEST(Wal, EpochTickerRestartAfterStop) {
  TempDir dir;
  WalOptions o = Stopped(2);
  o.policy = FlushPolicy::kTicker;
  o.epoch_interval_ms = 5;
  auto wal = MustOpen(dir.Join("test_ticker_restart.db"), o);
  ASSERT_TRUE(wal->Start().ok());
  wal->Stop();
  ASSERT_TRUE(wal->Start().ok()) << "restart after stop";
  EXPECT_TRUE(wal->IsRunning());
  wal->Stop();
  EXPECT_FALSE(wal->IsRunning());
}

TEST(Wal, SubmitBatchPersistsActualFramePayloads) {
  TempDir dir;
  const std::string db = dir.Join("submit_batch.db");
  auto wal = MustOpen(db, Stopped(1));
  SampleBatch s(11, 77);
  uint64_t epoch = 99;
  ASSERT_TRUE(wal->Submit(0, s.batch, &epoch).ok());
  EXPECT_EQ(epoch, 0u);
  ASSERT_TRUE(wal->AdvanceAndFlush(50, nullptr).ok());
  EXPECT_EQ(wal->DurableEpoch(), std::optional<uint64_t>(0));
  SegmentContents contents;
  ASSERT_TRUE(ReadSegment(FileSystem::Default(), SegmentPath(db, 0), &contents).ok());
  ASSERT_EQ(contents.records.size(), 2u);
  EXPECT_EQ(contents.records[0].txn_id, 11u);
  EXPECT_EQ(contents.records[0].begin_seq, 77u);
  EXPECT_TRUE(contents.records[0].has_end_seq);
  EXPECT_EQ(contents.records[0].end_seq, 77u);
  EXPECT_EQ(contents.records[0].page_id, 7u);
  EXPECT_EQ(contents.records[0].after_image, std::vector<uint8_t>(16, 0xAA));
  EXPECT_TRUE(contents.records[0].before_image.empty());
  EXPECT_EQ(contents.records[1].page_id, 9u);
  EXPECT_EQ(contents.records[1].after_image, std::vector<uint8_t>(24, 0xBB));
  ASSERT_TRUE(contents.certificate.has_value());
  EXPECT_EQ(contents.certificate->db_size_pages, 12u);
  EXPECT_FALSE(contents.certificate->has_prev);
}

TEST(Wal, AdvanceAndFlushDoesNotMarkEpochDurableOnSegmentWriteFailure) {
  TempDir dir;
  WalOptions o = Stopped(1);
  std::atomic<int> calls{0};
  o.publish = [&](const EpochBatch&, const SegmentWriteOptions&, SegmentWriteResult*) {
    ++calls;
    return Status::IoError("segment directory is missing", ENOENT);
  };
  auto wal = MustOpen(dir.Join("write_failure.db"), o);
  SampleBatch s(21, 99);
  ASSERT_TRUE(wal->Submit(0, s.batch, nullptr).ok());
  Status st = wal->AdvanceAndFlush(50, nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("write_segment(0) failed"), std::string::npos) << st.ToString();
  EXPECT_EQ(calls.load(), 3) << "max_write_attempts rewrites";
  EXPECT_EQ(wal->DurableEpoch(), std::nullopt);
  EXPECT_FALSE(wal->WaitForEpochDurable(0, 10).ok());
}

// ---- submit validation and backpressure ------------------------------------------------------

TEST(Wal, SubmitValidatesBeforeAppending) {
  TempDir dir;
  auto wal = MustOpen(dir.Join("v.db"), Stopped(1));
  OneFrame zero_page(1, 1, 0);
  EXPECT_EQ(wal->Submit(0, zero_page.batch, nullptr).code(), Status::Code::kInvalidArgument);
  OneFrame zero_txn(0, 1);
  EXPECT_EQ(wal->Submit(0, zero_txn.batch, nullptr).code(), Status::Code::kInvalidArgument);
  OneFrame big(1, 1, 1, kMaxImageBytes + 1);
  EXPECT_EQ(wal->Submit(0, big.batch, nullptr).code(), Status::Code::kInvalidArgument);
  OneFrame max(1, 1, 1, kMaxImageBytes);
  EXPECT_TRUE(wal->Submit(0, max.batch, nullptr).ok());
  OneFrame ok(2, 2);
  EXPECT_EQ(wal->Submit(5, ok.batch, nullptr).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(wal->coordinator()->pool().slot(0).active().records, 1u);
}

TEST(Wal, BlockWriterBackpressureAppendsNothingAndClearsAfterAFlush) {
  TempDir dir;
  WalOptions o = Stopped(1);
  o.buffer_capacity_bytes = 4 * (kRecordOverheadBytes + 128);
  auto wal = MustOpen(dir.Join("bp.db"), o);
  int accepted = 0;
  Status st;
  for (uint64_t i = 1; i <= 10; ++i) {
    OneFrame f(i, i);
    st = wal->Submit(0, f.batch, nullptr);
    if (!st.ok()) break;
    ++accepted;
  }
  EXPECT_EQ(accepted, 4);
  EXPECT_EQ(st.code(), Status::Code::kBackpressure);
  EXPECT_EQ(wal->coordinator()->pool().slot(0).active().records, 4u);
  EXPECT_EQ(wal->Stats().backpressure, 1u);
  ASSERT_TRUE(wal->AdvanceAndFlush(1000, nullptr).ok());
  OneFrame f(100, 100);
  EXPECT_TRUE(wal->Submit(0, f.batch, nullptr).ok());
}

TEST(Wal, SubmitWaitWaitsForRoomWithARunningFlusher) {
  TempDir dir;
  WalOptions o;
  o.slot_count = 1;
  o.fsync = FsyncPolicy::kOff;
  o.buffer_capacity_bytes = 2 * (kRecordOverheadBytes + 128);
  const std::string db = dir.Join("bpw.db");
  auto wal = MustOpen(db, o);
  uint64_t last = 0;
  for (uint64_t i = 1; i <= 50; ++i) {
    OneFrame f(i, i);
    ASSERT_TRUE(wal->SubmitWait(0, f.batch, 10000, &last).ok());
  }
  ASSERT_TRUE(wal->WaitForEpochDurable(last, 10000).ok());
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_EQ(Recover(FileSystem::Default(), db).size(), 50u);
}

TEST(Wal, AllocateOverflowDrainsThroughTheFallback) {
  TempDir dir;
  WalOptions o = Stopped(1);
  o.overflow = OverflowPolicy::kAllocateOverflow;
  o.buffer_capacity_bytes = 1 << 20;
  const std::string db = dir.Join("ovf.db");
  auto wal = MustOpen(db, o);
  std::vector<uint8_t> page(kMaxImageBytes, 0x5A);
  uint64_t txn = 1;
  Status st;
  for (; txn < 1000; ++txn) {
    SubmitFrame fr{1, page.data(), page.size(), 0};
    SubmitBatch b;
    b.txn_id = txn;
    b.commit_seq = txn;
    b.frames = &fr;
    b.frame_count = 1;
    st = wal->Submit(0, b, nullptr);
    if (!st.ok()) break;
  }
  ASSERT_EQ(st.code(), Status::Code::kBackpressure);
  WalStats s = wal->Stats();
  EXPECT_GT(s.overflow_appends, 0u);
  EXPECT_EQ(s.fallback_entries, 1u);
  // 1 MiB + 8 MiB of 64 KiB pages: 144 records of (65536 + 48) bytes fit; the 145th latches.
  EXPECT_EQ(txn - 1, 143u);
  // The running flusher drains serially and the segment is marked as written in fallback.
  std::atomic<bool> saw_fallback{false};
  wal->AddListener([&](const DurableEvent& ev) {
    if (ev.fallback_active) saw_fallback = true;
  });
  ASSERT_TRUE(wal->Start().ok());
  ASSERT_TRUE(wal->WaitForEpochDurable(0, 30000).ok());
  EXPECT_FALSE(wal->coordinator()->AnyFallbackLatched());
  ASSERT_TRUE(wal->Close().ok());  // joins the flusher: every listener call has returned
  EXPECT_TRUE(saw_fallback.load());
  RecoveryResult rr;
  EXPECT_EQ(Recover(FileSystem::Default(), db, &rr).size(), 143u);
  ASSERT_EQ(rr.certificates.size(), 1u);
  EXPECT_TRUE(rr.certificates[0].fallback_active);
}

// ---- the adaptive flusher and listeners -------------------------------------------------------

// A running adaptive flusher with no delay bound: it seals only on its own decisions.
WalOptions AdaptiveNoDelay(size_t slots, FsyncPolicy fsync) {
  WalOptions o;
  o.slot_count = slots;
  o.fsync = fsync;
  o.max_flush_delay_ms = 0;
  return o;
}

TEST(Wal, AdaptiveLoneCommitCostsOneSegment) {
  TempDir dir;
  auto wal = MustOpen(dir.Join("lone.db"), AdaptiveNoDelay(4, FsyncPolicy::kFull));
  ASSERT_TRUE(wal->IsRunning());
  OneFrame f(1, 1);
  uint64_t e;
  ASSERT_TRUE(wal->Submit(ThreadSlot(4), f.batch, &e).ok());
  ASSERT_TRUE(wal->WaitForEpochDurable(e, 10000).ok());
  WalStats s = wal->Stats();
  EXPECT_EQ(s.segments_written, 1u);
  EXPECT_EQ(s.records_written, 1u);
  EXPECT_EQ(s.fsyncs, 1u);
  ASSERT_EQ(s.write_latency_ns.size(), 1u);
}

// One commit at a time, each waited for right after it is submitted: the wait's seal request
// races with the flusher sealing that epoch on its own. A request for an epoch that is already
// sealed, with nothing pending, must not seal another (empty) epoch; every epoch is a segment.
TEST(Wal, SequentialCommitsSealNoEmptyEpochs) {
  TempDir dir;
  auto wal = MustOpen(dir.Join("seq.db"), AdaptiveNoDelay(1, FsyncPolicy::kOff));
  for (uint64_t t = 1; t <= 400; ++t) {
    OneFrame f(t, t);
    uint64_t e;
    ASSERT_TRUE(wal->Submit(0, f.batch, &e).ok());
    ASSERT_TRUE(wal->WaitForEpochDurable(e, 10000).ok());
  }
  WalStats s = wal->Stats();
  EXPECT_EQ(s.empty_epochs, 0u);
  EXPECT_EQ(s.segments_written, s.epochs_sealed);
}

// ---- sealing after a consumer's turn (Wal::HoldSealForTurn / EndTurn) --------------------------

// A consumer of durable events: every event (not a resend) holds the next seal, as the binding
// does for a JS thread that will resolve commits whose callers commit again.
struct TurnConsumer {
  explicit TurnConsumer(Wal* wal) : wal_(wal) {
    id_ = wal->AddListener([this](const DurableEvent& ev) {
      if (ev.resend || ev.closed || ev.failed || !ev.durable_epoch) return;
      wal_->HoldSealForTurn(ev.records);
      events_.fetch_add(1);
    });
  }
  // Waits (polling) until the next event was handed over: the hold it asked for is on by then.
  void AwaitNextEvent() {
    ++awaited_;
    while (events_.load() < awaited_) std::this_thread::yield();
  }
  uint64_t Commit(uint64_t txn) {
    OneFrame f(txn, txn);
    uint64_t e = 0;
    EXPECT_TRUE(wal_->Submit(0, f.batch, &e).ok());
    return e;
  }
  // One commit, waited for until durable and its event handed over.
  void CommitDurable(uint64_t txn) {
    EXPECT_TRUE(wal_->WaitForEpochDurable(Commit(txn), 10000).ok());
    AwaitNextEvent();
  }
  Wal* wal_;
  uint64_t id_ = 0;
  uint64_t awaited_ = 0;
  std::atomic<uint64_t> events_{0};
};

// A WAL of one slot, fsync off, whose holds last at most `hold_ns`.
WalOptions TurnHolding(int64_t hold_ns) {
  WalOptions o = AdaptiveNoDelay(1, FsyncPolicy::kOff);
  o.turn_hold_ns = hold_ns;
  return o;
}
constexpr int64_t kHourNs = int64_t{3600} * 1000 * 1000 * 1000;

// What the consumer commits before EndTurn joins one epoch, however many commits it makes and
// however long it takes (this hold outlasts the test); EndTurn lets the flusher seal it.
TEST(Wal, CommitsMadeInTheTurnAfterADurableEventJoinOneEpoch) {
  TempDir dir;
  auto wal = MustOpen(dir.Join("turn.db"), TurnHolding(kHourNs));
  TurnConsumer c(wal.get());
  c.CommitDurable(1);
  const uint64_t e1 = *wal->DurableEpoch();
  // A turn of 20 ms: without the hold the flusher would have sealed (many times) by its end.
  std::set<uint64_t> epochs;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t t = 2; t <= 39; ++t) {
    epochs.insert(c.Commit(t));
    std::this_thread::yield();
  }
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(20)) std::this_thread::yield();
  epochs.insert(c.Commit(40));
  ASSERT_EQ(epochs.size(), 1u) << "every commit of the turn in one epoch";
  const uint64_t e2 = *epochs.begin();
  EXPECT_GT(e2, e1);
  WalStats s = wal->Stats();
  EXPECT_EQ(s.epochs_sealed, 1u) << "nothing sealed during the turn";
  EXPECT_EQ(s.turn_holds, 1u);
  wal->EndTurn();
  ASSERT_TRUE(wal->WaitForEpochDurable(e2, 10000).ok());
  c.AwaitNextEvent();
  wal->EndTurn();
  s = wal->Stats();
  EXPECT_EQ(s.epochs_sealed, 2u);
  EXPECT_EQ(s.records_written, 40u);
  EXPECT_EQ(s.turn_holds_expired, 0u);
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_EQ(Recover(FileSystem::Default(), dir.Join("turn.db")).size(), 40u);
}

// A hold that runs out seals anyway; holds then pause for 2, 4, ... epochs while they keep
// running out, and a turn that ends in time resets that.
TEST(Wal, AHoldThatRunsOutSealsAnywayAndHoldsBackOff) {
  TempDir dir;
  auto wal = MustOpen(dir.Join("backoff.db"), TurnHolding(2 * 1000 * 1000));  // 2 ms
  TurnConsumer c(wal.get());
  uint64_t txn = 0;
  // One commit, durable and its event handed over; then the stats. end_turn: the consumer's
  // turn ends (in time) before it commits.
  auto step = [&](bool end_turn) {
    if (end_turn) wal->EndTurn();
    c.CommitDurable(++txn);
    return wal->Stats();
  };
  WalStats s = step(false);             // event 1: held
  EXPECT_EQ(s.turn_holds, 1u);
  s = step(false);                      // ran out (2 ms); event 2 skipped (1 of 2)
  EXPECT_EQ(s.turn_holds_expired, 1u);
  EXPECT_EQ(s.turn_holds, 1u);
  s = step(false);                      // sealed at once; event 3 skipped (2 of 2)
  EXPECT_EQ(s.turn_holds, 1u);
  s = step(false);                      // sealed at once; event 4 held
  EXPECT_EQ(s.turn_holds, 2u);
  EXPECT_EQ(s.turn_holds_expired, 1u);
  s = step(false);                      // ran out again: events 5 to 8 skipped
  EXPECT_EQ(s.turn_holds_expired, 2u);
  for (int i = 0; i < 3; ++i) s = step(false);
  EXPECT_EQ(s.turn_holds, 2u);
  s = step(false);                      // event 9 held
  EXPECT_EQ(s.turn_holds, 3u);
  s = step(true);                       // the turn ended in time; event 10 held again
  EXPECT_EQ(s.turn_holds, 4u);
  EXPECT_EQ(s.turn_holds_expired, 2u);
  s = step(false);                      // ran out: back to skipping 2 (11, 12), not 8
  EXPECT_EQ(s.turn_holds_expired, 3u);
  s = step(false);
  EXPECT_EQ(s.turn_holds, 4u);
  s = step(false);                      // event 13 held
  EXPECT_EQ(s.turn_holds, 5u);
  wal->EndTurn();
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_EQ(Recover(FileSystem::Default(), dir.Join("backoff.db")).size(), txn);
}

// No hold when the commits already pending are at least half the epoch being resolved: they
// would wait for a turn that adds no more than they are (the closed loop's two halves at many
// commits in flight). Fewer pending than that: held as before.
TEST(Wal, NoHoldWhenThePendingCommitsAreHalfTheResolvedEpoch) {
  TempDir dir;
  WalOptions o = Stopped(1);
  o.turn_hold_ns = kHourNs;
  auto wal = MustOpen(dir.Join("hold-pending.db"), o);
  uint64_t txn = 0;
  auto commit = [&] {
    OneFrame f(++txn, txn);
    ASSERT_TRUE(wal->Submit(0, f.batch, nullptr).ok());
  };
  // An epoch of 8 records is flushed; then `pending` commits arrive before the event's
  // consumer asks for a hold for it. Returns whether a hold was taken.
  auto flushThenHold = [&](int pending) {
    for (int i = 0; i < 8; ++i) commit();
    EXPECT_TRUE(wal->AdvanceAndFlush(10000, nullptr).ok());
    for (int i = 0; i < pending; ++i) commit();
    const uint64_t before = wal->Stats().turn_holds;
    wal->HoldSealForTurn(8);
    const bool held = wal->Stats().turn_holds > before;
    wal->EndTurn();
    EXPECT_TRUE(wal->AdvanceAndFlush(10000, nullptr).ok());  // the pending ones, if any
    return held;
  };
  EXPECT_TRUE(flushThenHold(0));
  EXPECT_TRUE(flushThenHold(3));
  EXPECT_FALSE(flushThenHold(4));
  EXPECT_FALSE(flushThenHold(20));
  // An event with no records (a re-sent state): any pending commit is sealed at once.
  commit();
  const uint64_t before = wal->Stats().turn_holds;
  wal->HoldSealForTurn(0);
  EXPECT_EQ(wal->Stats().turn_holds, before);
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_EQ(Recover(FileSystem::Default(), dir.Join("hold-pending.db")).size(), txn);
}

// A manual flush and Close do not wait for a hold: they seal what is pending themselves (were
// it otherwise, this test would run into ctest's timeout: the hold is an hour).
TEST(Wal, AdvanceAndFlushAndCloseDoNotWaitForAHold) {
  TempDir dir;
  auto wal = MustOpen(dir.Join("hold-close.db"), TurnHolding(kHourNs));
  TurnConsumer c(wal.get());
  c.CommitDurable(1);
  const uint64_t e2 = c.Commit(2);  // held
  uint64_t next = 0;
  ASSERT_TRUE(wal->AdvanceAndFlush(10000, &next).ok());
  EXPECT_TRUE(wal->DurableEpoch().has_value() && *wal->DurableEpoch() >= e2);
  c.AwaitNextEvent();
  const uint64_t e3 = c.Commit(3);  // held again (the manual flush's event)
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_TRUE(wal->DurableEpoch().has_value() && *wal->DurableEpoch() >= e3);
  EXPECT_EQ(Recover(FileSystem::Default(), dir.Join("hold-close.db")).size(), 3u);
}

TEST(Wal, TickerHonoursMaxFlushDelay) {
  TempDir dir;
  WalOptions o;
  o.slot_count = 1;
  o.fsync = FsyncPolicy::kOff;
  o.policy = FlushPolicy::kTicker;
  o.epoch_interval_ms = 600000;  // the tick itself never comes during this test
  o.max_flush_delay_ms = 5;
  auto wal = MustOpen(dir.Join("delay.db"), o);
  OneFrame f(1, 1);
  uint64_t e;
  ASSERT_TRUE(wal->Submit(0, f.batch, &e).ok());
  ASSERT_TRUE(wal->WaitForEpochDurable(e, 20000).ok());
}

TEST(Wal, ListenersFireOncePerEpochNotPerCommit) {
  TempDir dir;
  auto wal = MustOpen(dir.Join("events.db"), Stopped(1));
  std::mutex mu;
  std::vector<DurableEvent> events;
  uint64_t id = wal->AddListener([&](const DurableEvent& ev) {
    std::lock_guard<std::mutex> g(mu);
    events.push_back(ev);
  });
  for (uint64_t i = 1; i <= 100; ++i) {
    OneFrame f(i, i);
    ASSERT_TRUE(wal->Submit(0, f.batch, nullptr).ok());
  }
  ASSERT_TRUE(wal->AdvanceAndFlush(1000, nullptr).ok());
  {
    std::lock_guard<std::mutex> g(mu);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].epoch, 0u);
    EXPECT_EQ(events[0].durable_epoch, std::optional<uint64_t>(0));
    EXPECT_EQ(events[0].records, 100u);
    EXPECT_EQ(events[0].attempts, 1u);
    EXPECT_GT(events[0].bytes_written, 100u * 128u);
    EXPECT_EQ(events[0].trigger, FlushTrigger::kManual);
    EXPECT_FALSE(events[0].failed);
  }
  wal->RemoveListener(id);
  ASSERT_TRUE(wal->AdvanceAndFlush(1000, nullptr).ok());
  std::lock_guard<std::mutex> g(mu);
  EXPECT_EQ(events.size(), 1u) << "a removed listener is never called again";
}

TEST(Wal, AListenerMayRemoveItselfOnTheFlusherThread) {
  TempDir dir;
  WalOptions o;
  o.slot_count = 1;
  o.fsync = FsyncPolicy::kOff;
  auto wal = MustOpen(dir.Join("selfremove.db"), o);
  std::atomic<int> calls{0};
  std::atomic<uint64_t> id{0};
  std::atomic<bool> registered{false};
  id = wal->AddListener([&](const DurableEvent&) {
    ++calls;
    while (!registered.load()) std::this_thread::yield();
    wal->RemoveListener(id.load());
  });
  registered = true;
  for (uint64_t i = 1; i <= 3; ++i) {
    OneFrame f(i, i);
    uint64_t e;
    ASSERT_TRUE(wal->Submit(0, f.batch, &e).ok());
    ASSERT_TRUE(wal->WaitForEpochDurable(e, 10000).ok());
  }
  EXPECT_EQ(calls.load(), 1);
}

// ---- failures ----------------------------------------------------------------------------------

class WalFailure : public ::testing::TestWithParam<FailOp> {};

// One slot, a running flusher, fsync `full`, on `fs`.
WalOptions OneSlotFullSyncOn(FileSystem* fs) {
  WalOptions o;
  o.slot_count = 1;
  o.fs = fs;
  o.fsync = FsyncPolicy::kFull;
  return o;
}

TEST_P(WalFailure, AFailureOnceIsRewrittenIntoANewFileAndBecomesDurable) {
  TempDir dir;
  FailingFileSystem ffs(FileSystem::Default());
  const WalOptions o = OneSlotFullSyncOn(&ffs);
  const std::string db = dir.Join("once.db");
  auto wal = MustOpen(db, o);
  ffs.Arm(FailSpec{GetParam(), 1, false, EIO});
  OneFrame f(1, 1);
  uint64_t e;
  ASSERT_TRUE(wal->Submit(0, f.batch, &e).ok());
  ASSERT_TRUE(wal->WaitForEpochDurable(e, 10000).ok());
  EXPECT_EQ(ffs.failures(), 1u);
  WalStats s = wal->Stats();
  EXPECT_EQ(s.write_failures, 1u);
  EXPECT_EQ(s.segments_written, 1u);
  ASSERT_TRUE(wal->Close().ok());
  auto recs = Recover(FileSystem::Default(), db);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].after_image, f.image);
}

TEST_P(WalFailure, APersistentFailureIsFatalAndNothingLaterBecomesDurable) {
  TempDir dir;
  FailingFileSystem ffs(FileSystem::Default());
  const WalOptions o = OneSlotFullSyncOn(&ffs);
  const std::string db = dir.Join("fatal.db");
  auto wal = MustOpen(db, o);
  // Epoch 0 becomes durable first.
  OneFrame f0(1, 1);
  uint64_t e0;
  ASSERT_TRUE(wal->Submit(0, f0.batch, &e0).ok());
  ASSERT_TRUE(wal->WaitForEpochDurable(e0, 10000).ok());

  std::mutex mu;
  std::vector<DurableEvent> fatal;
  wal->AddListener([&](const DurableEvent& ev) {
    if (ev.fatal) {
      std::lock_guard<std::mutex> g(mu);
      fatal.push_back(ev);
    }
  });
  ffs.Arm(FailSpec{GetParam(), 1, true, ENOSPC});
  OneFrame f1(2, 2);
  uint64_t e1;
  ASSERT_TRUE(wal->Submit(0, f1.batch, &e1).ok());
  Status st = wal->WaitForEpochDurable(e1, 10000);
  ASSERT_EQ(st.code(), Status::Code::kIoError) << st.ToString();
  EXPECT_NE(st.message().find("WAL failed at epoch " + std::to_string(e1)), std::string::npos)
      << st.ToString();
  EXPECT_EQ(st.sys_errno(), ENOSPC);
  // Everything before the failed epoch is durable (possibly empty epochs after e0), nothing at
  // or after it.
  ASSERT_GT(e1, e0);
  EXPECT_EQ(wal->DurableEpoch(), std::optional<uint64_t>(e1 - 1));
  EXPECT_EQ(ffs.failures(), 3u) << "max_write_attempts fresh files, then give up";
  OneFrame f2(3, 3);
  Status sub = wal->Submit(0, f2.batch, nullptr);
  EXPECT_EQ(sub.code(), Status::Code::kIoError);
  EXPECT_NE(sub.message().find("WAL failed at epoch"), std::string::npos);
  EXPECT_EQ(wal->WaitForEpochDurable(e1 + 1, 100).code(), Status::Code::kIoError);
  EXPECT_TRUE(wal->IsFailed());
  wal->Close();  // joins the flusher: every listener call has returned
  {
    std::lock_guard<std::mutex> g(mu);
    ASSERT_EQ(fatal.size(), 2u) << "the fatal event, then the close event";
    EXPECT_EQ(fatal[0].failed_epoch, e1);
    EXPECT_EQ(fatal[0].epoch, e1);
    EXPECT_FALSE(fatal[0].closed);
    EXPECT_EQ(fatal[0].error.code(), Status::Code::kIoError);
    EXPECT_TRUE(fatal[1].closed);
  }
  ffs.Disarm();
  auto recs = Recover(FileSystem::Default(), db);
  ASSERT_EQ(recs.size(), 1u) << "only the acknowledged epoch is on disk";
  EXPECT_EQ(recs[0].txn_id, 1u);
  // Reopening continues after the newest epoch on disk.
  auto again = MustOpen(db, Stopped(1));
  EXPECT_EQ(again->CurrentEpoch(), e0 + 1);
}

INSTANTIATE_TEST_SUITE_P(Ops, WalFailure,
                         ::testing::Values(FailOp::kOpen, FailOp::kWrite, FailOp::kSync,
                                           FailOp::kRename, FailOp::kDirSync),
                         [](const ::testing::TestParamInfo<FailOp>& i) {
                           return std::string(FailOpName(i.param));
                         });

// On a file system that lies after a failed fsync (Linux after EIO), re-syncing the same file
// would "succeed" without making anything durable. The Wal rewrites into a new file, so after a
// power loss the acknowledged commit is still there.
TEST(Wal, FsyncFailureIsNeverRetriedOnTheSameFile) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/db");
  WalOptions o;
  o.slot_count = 1;
  o.fs = &fs;
  o.fsync = FsyncPolicy::kFull;
  auto wal = MustOpen("/db/gate.db", o);
  fs.FailNth(FaultInjectingFileSystem::Op::kSync, 1, EIO);
  OneFrame f(1, 1);
  uint64_t e;
  ASSERT_TRUE(wal->Submit(0, f.batch, &e).ok());
  ASSERT_TRUE(wal->WaitForEpochDurable(e, 10000).ok());
  wal->Close(true);
  fs.PowerLoss();
  auto recs = Recover(&fs, "/db/gate.db");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].after_image, f.image);
}

// ---- close, restart, locking ----------------------------------------------------------------

TEST(Wal, CloseMakesPendingEpochsDurable) {
  TempDir dir;
  const std::string db = dir.Join("close.db");
  auto wal = MustOpen(db, Stopped(2));
  std::atomic<bool> closed_event{false};
  wal->AddListener([&](const DurableEvent& ev) {
    if (ev.closed) closed_event = true;
  });
  uint64_t e;
  for (uint64_t i = 1; i <= 10; ++i) {
    OneFrame f(i, i);
    ASSERT_TRUE(wal->Submit(i % 2, f.batch, &e).ok());
  }
  std::thread waiter([&] { EXPECT_TRUE(wal->WaitForEpochDurable(e, 30000).ok()); });
  ASSERT_TRUE(wal->Close(false).ok());
  waiter.join();
  EXPECT_TRUE(closed_event.load());
  OneFrame late(50, 50);
  EXPECT_EQ(wal->Submit(0, late.batch, nullptr).code(), Status::Code::kClosed);
  EXPECT_EQ(Recover(FileSystem::Default(), db).size(), 10u);
}

TEST(Wal, CloseAbortRejectsPendingWaitersWithClosed) {
  TempDir dir;
  const std::string db = dir.Join("abort.db");
  auto wal = MustOpen(db, Stopped(1));
  OneFrame f(1, 1);
  uint64_t e;
  ASSERT_TRUE(wal->Submit(0, f.batch, &e).ok());
  Status waited;
  std::thread waiter([&] { waited = wal->WaitForEpochDurable(e, 30000); });
  ASSERT_TRUE(wal->Close(true).ok());
  waiter.join();
  EXPECT_EQ(waited.code(), Status::Code::kClosed) << waited.ToString();
  EXPECT_TRUE(Recover(FileSystem::Default(), db).empty());
}

TEST(Wal, RestartContinuesAfterTheNewestEpochOnDisk) {
  TempDir dir;
  const std::string db = dir.Join("restart.db");
  {
    auto wal = MustOpen(db, Stopped(1));
    for (uint64_t i = 1; i <= 3; ++i) {
      OneFrame f(i, i);
      ASSERT_TRUE(wal->Submit(0, f.batch, nullptr).ok());
      ASSERT_TRUE(wal->AdvanceAndFlush(1000, nullptr).ok());
    }
    ASSERT_TRUE(wal->AdvanceAndFlush(1000, nullptr).ok());  // an empty epoch 3
    EXPECT_EQ(wal->CurrentEpoch(), 4u);
  }
  auto wal = MustOpen(db, Stopped(1));
  EXPECT_EQ(wal->CurrentEpoch(), 3u) << "after the newest segment (epoch 2)";
  EXPECT_EQ(wal->DurableEpoch(), std::optional<uint64_t>(2));
  OneFrame f(4, 4);
  uint64_t e;
  ASSERT_TRUE(wal->Submit(0, f.batch, &e).ok());
  EXPECT_EQ(e, 3u);
  ASSERT_TRUE(wal->AdvanceAndFlush(1000, nullptr).ok());
  ASSERT_TRUE(wal->Close().ok());
  RecoveryResult rr;
  auto recs = Recover(FileSystem::Default(), db, &rr);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(rr.epochs, (std::vector<uint64_t>{0, 1, 2, 3}));
  ASSERT_EQ(rr.certificates.size(), 4u);
  EXPECT_TRUE(rr.certificates[3].has_prev);
  EXPECT_EQ(rr.certificates[3].prev_durable_epoch, 2u);
}

TEST(Wal, ASecondOpenIsLockedInProcessAndAcrossProcesses) {
  TempDir dir;
  const std::string db = dir.Join("locked.db");
  auto wal = MustOpen(db, Stopped(1));
  std::shared_ptr<Wal> second;
  EXPECT_EQ(Wal::Open(db, Stopped(1), &second).code(), Status::Code::kLocked);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::unique_ptr<FileLock> lock;
    Status st = FileSystem::Default()->LockFile(db + "-wal.lock", &lock);
    _exit(st.code() == Status::Code::kLocked ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "another process must see the WAL locked";
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_TRUE(Wal::Open(db, Stopped(1), &second).ok()) << "closing releases the lock";
}

TEST(Wal, RegistrySharesOneWalAcrossThreadsAndJoinsOnLastRelease) {
  TempDir dir;
  const std::string db = dir.Join("shared.db");
  WalOptions o;
  o.fsync = FsyncPolicy::kOff;
  std::vector<std::shared_ptr<Wal>> got(4);
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] {
      Status st;
      got[i] = AcquireWal(db, o, &st);
      ASSERT_TRUE(st.ok()) << st.ToString();
      OneFrame f(i + 1, i + 1);
      uint64_t e;
      ASSERT_TRUE(got[i]->Submit(ThreadSlot(got[i]->SlotCount()), f.batch, &e).ok());
      ASSERT_TRUE(got[i]->WaitForEpochDurable(e, 10000).ok());
    });
  }
  for (auto& t : ts) t.join();
  for (int i = 1; i < 4; ++i) EXPECT_EQ(got[i].get(), got[0].get());
  auto wal = got[0];
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ReleaseWal(got[i]).ok());
    EXPECT_TRUE(wal->IsRunning()) << "still referenced";
  }
  ASSERT_TRUE(ReleaseWal(got[3]).ok());
  EXPECT_FALSE(wal->IsRunning()) << "the last release joins the flusher";
  EXPECT_TRUE(wal->IsClosed());
  EXPECT_EQ(FindWal(db), nullptr);
  EXPECT_EQ(Recover(FileSystem::Default(), db).size(), 4u);
}

// The Wal wraps its file system in a timing decorator; publication must still reach the
// unnamed-file protocol (O_TMPFILE + linkat) of the file system underneath, not silently fall
// back to temp+rename because the decorator did not forward it.
class CountingFileSystem : public FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  std::atomic<int> unnamed{0};
  std::atomic<int> renames{0};
  std::atomic<int> dir_syncs{0};
  Status NewUnnamedFile(const std::string& dir, std::unique_ptr<WritableFile>* out) override {
    Status st = base_->NewUnnamedFile(dir, out);
    if (st.ok()) ++unnamed;
    return st;
  }
  Status RenameNoReplace(const std::string& from, const std::string& to) override {
    ++renames;
    return base_->RenameNoReplace(from, to);
  }
  Status SyncDir(const std::string& dir, SyncMode mode) override {
    ++dir_syncs;
    return base_->SyncDir(dir, mode);
  }
};

TEST(Wal, PublicationReachesTheUnnamedFileProtocolThroughTheTimingDecorator) {
  TempDir dir;
  std::unique_ptr<WritableFile> probe;
  // Without O_TMPFILE here, temp+rename is the protocol: then every publish renames instead.
  const bool has_unnamed = FileSystem::Default()->NewUnnamedFile(dir.path(), &probe).ok();
  if (probe != nullptr) probe->Close();
  CountingFileSystem counting(FileSystem::Default());
  WalOptions o = Stopped(1);
  o.fs = &counting;
  o.fsync = FsyncPolicy::kNormal;
  o.prepare = PrepareMode::kOff;
  const std::string db = dir.Join("unnamed.db");
  auto wal = MustOpen(db, o);
  for (uint64_t t = 1; t <= 3; ++t) {
    OneFrame f(t, t);
    ASSERT_TRUE(wal->Submit(0, f.batch, nullptr).ok());
    ASSERT_TRUE(wal->AdvanceAndFlush(10000, nullptr).ok());
  }
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_EQ(counting.unnamed.load(), has_unnamed ? 3 : 0);
  EXPECT_EQ(counting.renames.load(), has_unnamed ? 0 : 3) << "temporaries renamed into place";
  EXPECT_EQ(Recover(FileSystem::Default(), db).size(), 3u);
}

// Prepared files are named in batches: the preparer refills the names once half are used, with
// one directory sync per batch, instead of naming (and syncing the directory for) one file per
// epoch while that epoch's own data sync runs.
TEST(Wal, PreparedNamesAreRefilledInBatchesWithOneDirectorySyncEach) {
  TempDir dir;
  CountingFileSystem counting(FileSystem::Default());
  WalOptions o = Stopped(1);
  o.fs = &counting;
  o.fsync = FsyncPolicy::kNormal;
  o.prepare = PrepareMode::kInline;  // deterministic: preparation runs inside the flush cycle
  o.prepare_ahead = 8;
  const std::string db = dir.Join("batched.db");
  auto wal = MustOpen(db, o);
  constexpr int kEpochs = 40;
  for (uint64_t t = 1; t <= kEpochs; ++t) {
    OneFrame f(t, t);
    ASSERT_TRUE(wal->Submit(0, f.batch, nullptr).ok());
    ASSERT_TRUE(wal->AdvanceAndFlush(10000, nullptr).ok());
  }
  const WalStats s = wal->Stats();
  const int dir_syncs = counting.dir_syncs.load();
  ASSERT_TRUE(wal->Close().ok());
  // Epoch 1 has no prepared file yet; after that every epoch finds one.
  EXPECT_GE(s.prepared_publishes, static_cast<uint64_t>(kEpochs - 1));
  // One naming round (one directory sync) per ahead/2 = 4 epochs, plus epoch 1's own: far
  // fewer than one per epoch.
  EXPECT_LE(dir_syncs, kEpochs / 4 + 3) << "directory syncs for " << kEpochs << " epochs";
  EXPECT_LE(s.prepared_files, static_cast<uint64_t>(kEpochs / 4 + 2)) << "naming rounds";
  EXPECT_EQ(Recover(FileSystem::Default(), db).size(), static_cast<size_t>(kEpochs));
}

// ---- concurrency: every acknowledged commit is recovered, in replay order --------------------

TEST(Wal, ManyThreadsCommitAndEveryAcknowledgedCommitIsRecovered) {
  TempDir dir;
  const std::string db = dir.Join("many.db");
  WalOptions o;
  o.slot_count = 8;
  o.fsync = FsyncPolicy::kNormal;
  auto wal = MustOpen(db, o);
  constexpr int kThreads = 8;
  constexpr int kPer = 400;
  std::vector<std::vector<uint64_t>> acked(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      const size_t slot = ThreadSlot(o.slot_count);
      std::vector<std::pair<uint64_t, uint64_t>> inflight;  // (txn, epoch)
      for (int i = 0; i < kPer; ++i) {
        const uint64_t txn = static_cast<uint64_t>(t) * 100000 + i + 1;
        OneFrame f(txn, txn, 1 + (i % 3));
        uint64_t e;
        ASSERT_TRUE(wal->SubmitWait(slot, f.batch, 30000, &e).ok());
        inflight.emplace_back(txn, e);
        if (inflight.size() == 16 || i + 1 == kPer) {  // 16 commits in flight per thread
          ASSERT_TRUE(wal->WaitForEpochDurable(inflight.back().second, 30000).ok());
          for (auto& [x, ep] : inflight) acked[t].push_back(x);
          inflight.clear();
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  ASSERT_TRUE(wal->Close().ok());
  WalStats s = wal->Stats();
  EXPECT_EQ(s.records_written, static_cast<uint64_t>(kThreads * kPer));
  EXPECT_LE(s.segments_written, s.records_written);
  auto recs = Recover(FileSystem::Default(), db);
  ASSERT_EQ(recs.size(), static_cast<size_t>(kThreads * kPer));
  EXPECT_TRUE(std::is_sorted(recs.begin(), recs.end(), ReplayLess<WalRecord>));
  std::set<uint64_t> seen;
  for (const auto& r : recs) {
    EXPECT_TRUE(seen.insert(r.txn_id).second);
    OneFrame expect(r.txn_id, r.txn_id, r.page_id);
    EXPECT_EQ(r.after_image, expect.image);
  }
  for (const auto& v : acked) {
    for (uint64_t txn : v) EXPECT_TRUE(seen.count(txn)) << "acknowledged txn " << txn << " lost";
  }
}

}  // namespace
}  // namespace pwal
