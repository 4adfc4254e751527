// The POSIX FileSystem and the fault-injecting model's durability semantics.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "fault_file_system.h"
#include "file_system.h"
#include "test_util.h"

namespace pwal {
namespace {

using Op = FaultInjectingFileSystem::Op;
using Tear = FaultInjectingFileSystem::TearMode;
using testing::TempDir;

using testing::Slurp;
Status WriteAll(FileSystem* fs, const std::string& path, const std::string& s, SyncMode sync) {
  std::unique_ptr<WritableFile> f;
  PWAL_RETURN_IF_ERROR(fs->NewWritableFile(path, &f));
  PWAL_RETURN_IF_ERROR(f->Append(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  if (sync != SyncMode::kNone) PWAL_RETURN_IF_ERROR(f->Sync(sync));
  return f->Close();
}

TEST(PathTest, DirNameAndBaseName) {
  EXPECT_EQ(DirName("a/b/c.db"), "a/b");
  EXPECT_EQ(BaseName("a/b/c.db"), "c.db");
  EXPECT_EQ(DirName("c.db"), ".");
  EXPECT_EQ(BaseName("c.db"), "c.db");
  EXPECT_EQ(DirName("/c.db"), "/");
  EXPECT_EQ(DirName("/x//c.db"), "/x");
}

TEST(PosixFileSystemTest, CreateIsExclusive) {
  TempDir dir;
  FileSystem* fs = FileSystem::Default();
  ASSERT_TRUE(WriteAll(fs, dir.Join("f"), "abc", SyncMode::kFull).ok());
  std::unique_ptr<WritableFile> f;
  EXPECT_EQ(fs->NewWritableFile(dir.Join("f"), &f).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(Slurp(dir.Join("f")), "abc") << "never truncated";
  EXPECT_EQ(fs->NewWritableFile(dir.Join("nodir/f"), &f).code(), Status::Code::kNotFound);
}

TEST(PosixFileSystemTest, AppendVGathersManyBuffers) {
  TempDir dir;
  FileSystem* fs = FileSystem::Default();
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(fs->NewWritableFile(dir.Join("v"), &f).ok());
  // More buffers than IOV_MAX (1024 on Linux), some empty.
  std::vector<std::string> parts;
  std::string expect;
  for (int i = 0; i < 3000; ++i) {
    parts.push_back(i % 7 == 0 ? "" : std::to_string(i) + ",");
    expect += parts.back();
  }
  std::vector<const uint8_t*> bufs;
  std::vector<size_t> lens;
  for (const auto& p : parts) {
    bufs.push_back(reinterpret_cast<const uint8_t*>(p.data()));
    lens.push_back(p.size());
  }
  ASSERT_TRUE(f->AppendV(bufs.data(), lens.data(), bufs.size()).ok());
  ASSERT_TRUE(f->Sync(SyncMode::kData).ok());
  ASSERT_TRUE(f->Close().ok());
  EXPECT_EQ(Slurp(dir.Join("v")), expect);
  std::string read;
  ASSERT_TRUE(fs->ReadFile(dir.Join("v"), &read).ok());
  EXPECT_EQ(read, expect);
  uint8_t buf[5];
  size_t got;
  ASSERT_TRUE(fs->ReadAt(dir.Join("v"), 1, buf, 5, &got).ok());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), got), expect.substr(1, 5));
  ASSERT_TRUE(fs->ReadAt(dir.Join("v"), expect.size() - 2, buf, 5, &got).ok());
  EXPECT_EQ(got, 2u);
  uint64_t size;
  ASSERT_TRUE(fs->GetFileSize(dir.Join("v"), &size).ok());
  EXPECT_EQ(size, expect.size());
}

TEST(PosixFileSystemTest, RenameNoReplaceRefusesExistingTarget) {
  TempDir dir;
  FileSystem* fs = FileSystem::Default();
  ASSERT_TRUE(WriteAll(fs, dir.Join("a"), "A", SyncMode::kNone).ok());
  ASSERT_TRUE(WriteAll(fs, dir.Join("b"), "B", SyncMode::kNone).ok());
  EXPECT_EQ(fs->RenameNoReplace(dir.Join("a"), dir.Join("b")).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(Slurp(dir.Join("b")), "B");
  EXPECT_EQ(Slurp(dir.Join("a")), "A");
  ASSERT_TRUE(fs->RenameNoReplace(dir.Join("a"), dir.Join("c")).ok());
  bool e;
  ASSERT_TRUE(fs->FileExists(dir.Join("a"), &e).ok());
  EXPECT_FALSE(e);
  EXPECT_EQ(Slurp(dir.Join("c")), "A");
  EXPECT_EQ(fs->RenameNoReplace(dir.Join("a"), dir.Join("d")).code(), Status::Code::kNotFound);
  EXPECT_TRUE(fs->SyncDir(dir.path(), SyncMode::kFull).ok());
  EXPECT_TRUE(fs->SyncDir(dir.path(), SyncMode::kData).ok());
  EXPECT_EQ(fs->SyncDir(dir.Join("missing"), SyncMode::kFull).code(), Status::Code::kNotFound);
}

// O_TMPFILE publication: where the file system supports it (Linux ext4/xfs/btrfs/tmpfs), an
// unnamed file is invisible until linked, vanishes if dropped, and never replaces a name.
TEST(PosixFileSystemTest, UnnamedFileAppearsOnlyWhenLinkedAndNeverReplaces) {
  TempDir dir;
  FileSystem* fs = FileSystem::Default();
  std::unique_ptr<WritableFile> f;
  Status st = fs->NewUnnamedFile(dir.path(), &f);
  if (st.IsNotSupported()) {
    // Publication then takes the temp+rename path, which the segment tests cover; say so.
    std::printf("unnamed files not supported in %s: %s\n", dir.path().c_str(), st.ToString().c_str());
    return;
  }
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::string data = "published";
  ASSERT_TRUE(f->Append(reinterpret_cast<const uint8_t*>(data.data()), data.size()).ok());
  ASSERT_TRUE(f->Sync(SyncMode::kFull).ok());
  std::vector<std::string> names;
  ASSERT_TRUE(fs->ListDir(dir.path(), &names).ok());
  EXPECT_TRUE(names.empty()) << "an unnamed file has no directory entry";
  ASSERT_TRUE(f->LinkAs(dir.Join("a")).ok());
  ASSERT_TRUE(f->Close().ok());
  EXPECT_EQ(Slurp(dir.Join("a")), data);

  // Linking over an existing name fails and leaves it alone; the dropped file leaves nothing.
  ASSERT_TRUE(fs->NewUnnamedFile(dir.path(), &f).ok());
  ASSERT_TRUE(f->Append(reinterpret_cast<const uint8_t*>("other"), 5).ok());
  st = f->LinkAs(dir.Join("a"));
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists) << st.ToString();
  ASSERT_TRUE(f->Close().ok());
  f.reset();
  EXPECT_EQ(Slurp(dir.Join("a")), data);
  ASSERT_TRUE(fs->ListDir(dir.path(), &names).ok());
  EXPECT_EQ(names, std::vector<std::string>{"a"});
}

TEST(PosixFileSystemTest, NamedFilesCannotBeLinked) {
  TempDir dir;
  FileSystem* fs = FileSystem::Default();
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(fs->NewWritableFile(dir.Join("n"), &f).ok());
  EXPECT_TRUE(f->LinkAs(dir.Join("m")).IsNotSupported());
  ASSERT_TRUE(f->Close().ok());
}

TEST(PosixFileSystemTest, ListAndDelete) {
  TempDir dir;
  FileSystem* fs = FileSystem::Default();
  ASSERT_TRUE(WriteAll(fs, dir.Join("x"), "", SyncMode::kNone).ok());
  std::vector<std::string> names;
  ASSERT_TRUE(fs->ListDir(dir.path(), &names).ok());
  EXPECT_EQ(names, std::vector<std::string>{"x"});
  ASSERT_TRUE(fs->DeleteFile(dir.Join("x")).ok());
  EXPECT_EQ(fs->DeleteFile(dir.Join("x")).code(), Status::Code::kNotFound);
  EXPECT_EQ(fs->ListDir(dir.Join("missing"), &names).code(), Status::Code::kNotFound);
}

TEST(PosixFileSystemTest, LockIsExclusiveAndReleased) {
  TempDir dir;
  FileSystem* fs = FileSystem::Default();
  std::unique_ptr<FileLock> a, b;
  ASSERT_TRUE(fs->LockFile(dir.Join("LOCK"), &a).ok());
  EXPECT_EQ(fs->LockFile(dir.Join("LOCK"), &b).code(), Status::Code::kLocked);
  a.reset();
  EXPECT_TRUE(fs->LockFile(dir.Join("LOCK"), &b).ok());
}

// ---- the model ----

TEST(FaultFileSystemTest, UnsyncedBytesAreLost) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/d");
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(fs.NewWritableFile("/d/f", &f).ok());
  ASSERT_TRUE(fs.SyncDir("/d", SyncMode::kFull).ok());
  ASSERT_TRUE(f->Append(reinterpret_cast<const uint8_t*>("abc"), 3).ok());
  ASSERT_TRUE(f->Sync(SyncMode::kData).ok());
  ASSERT_TRUE(f->Append(reinterpret_cast<const uint8_t*>("def"), 3).ok());
  fs.PowerLoss(Tear::kDrop);
  std::string s;
  ASSERT_TRUE(fs.GetFile("/d/f", &s));
  EXPECT_EQ(s, "abc");
  EXPECT_EQ(f->Append(reinterpret_cast<const uint8_t*>("x"), 1).code(), Status::Code::kIoError)
      << "handles do not survive a reboot";
}

TEST(FaultFileSystemTest, TearModes) {
  for (Tear t : {Tear::kCutShort, Tear::kZeroFill, Tear::kGarbage}) {
    FaultInjectingFileSystem fs;
    fs.MakeDir("/d");
    fs.PutFile("/d/f", "abc");
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(fs.NewWritableFile("/d/g", &f).ok());
    ASSERT_TRUE(fs.SyncDir("/d", SyncMode::kFull).ok());
    const std::string tail(100, 'T');
    ASSERT_TRUE(f->Append(reinterpret_cast<const uint8_t*>(tail.data()), tail.size()).ok());
    fs.PowerLoss(t, 3);
    std::string s;
    ASSERT_TRUE(fs.GetFile("/d/g", &s));
    if (t == Tear::kCutShort) {
      EXPECT_LT(s.size(), tail.size());
      EXPECT_EQ(s, tail.substr(0, s.size()));
    } else if (t == Tear::kZeroFill) {
      EXPECT_EQ(s, std::string(100, '\0'));
    } else {
      EXPECT_EQ(s.size(), 100u);
      EXPECT_NE(s, tail);
    }
  }
}

TEST(FaultFileSystemTest, EntriesNeedADirSync) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/d");
  ASSERT_TRUE(WriteAll(&fs, "/d/a", "A", SyncMode::kFull).ok());
  fs.PowerLoss();
  EXPECT_TRUE(fs.Names("/d").empty()) << "created and synced, but the entry was never dir-synced";

  ASSERT_TRUE(WriteAll(&fs, "/d/a", "A", SyncMode::kFull).ok());
  ASSERT_TRUE(fs.SyncDir("/d", SyncMode::kFull).ok());
  ASSERT_TRUE(fs.RenameNoReplace("/d/a", "/d/b").ok());
  fs.PowerLoss();
  EXPECT_EQ(fs.Names("/d"), std::vector<std::string>{"a"}) << "rename not dir-synced: undone";

  ASSERT_TRUE(fs.DeleteFile("/d/a").ok());
  fs.PowerLoss();
  EXPECT_EQ(fs.Names("/d"), std::vector<std::string>{"a"}) << "delete not dir-synced: undone";
}

TEST(FaultFileSystemTest, FailedSyncIsFinalLikeFsyncgate) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/d");
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(fs.NewWritableFile("/d/f", &f).ok());
  ASSERT_TRUE(fs.SyncDir("/d", SyncMode::kFull).ok());
  ASSERT_TRUE(f->Append(reinterpret_cast<const uint8_t*>("abc"), 3).ok());
  fs.FailNth(Op::kSync, 1, EIO);
  EXPECT_EQ(f->Sync(SyncMode::kFull).sys_errno(), EIO);
  EXPECT_TRUE(f->Sync(SyncMode::kFull).ok()) << "the kernel's lie";
  fs.PowerLoss(Tear::kDrop);
  std::string s;
  ASSERT_TRUE(fs.GetFile("/d/f", &s));
  EXPECT_EQ(s, "") << "the re-sync made nothing durable";
}

TEST(FaultFileSystemTest, FailNthAndPersistent) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/d");
  fs.FailNth(Op::kOpen, 2, ENOSPC);
  std::unique_ptr<WritableFile> f;
  EXPECT_TRUE(fs.NewWritableFile("/d/1", &f).ok());
  Status st = fs.NewWritableFile("/d/2", &f);
  EXPECT_EQ(st.sys_errno(), ENOSPC);
  EXPECT_TRUE(fs.NewWritableFile("/d/3", &f).ok()) << "once";
  fs.FailNth(Op::kDelete, 1, EIO, /*persistent=*/true);
  EXPECT_FALSE(fs.DeleteFile("/d/1").ok());
  EXPECT_FALSE(fs.DeleteFile("/d/1").ok());
  fs.ClearFaults();
  EXPECT_TRUE(fs.DeleteFile("/d/1").ok());
  EXPECT_EQ(fs.CallCount(Op::kOpen), 3u);
}

TEST(FaultFileSystemTest, CrashStopsEverythingUntilPowerLoss) {
  FaultInjectingFileSystem fs;
  fs.MakeDir("/d");
  fs.CrashAtStep(fs.steps() + 2);
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(fs.NewWritableFile("/d/f", &f).ok());  // step 1
  EXPECT_FALSE(f->Append(reinterpret_cast<const uint8_t*>("a"), 1).ok());  // step 2: crash
  EXPECT_TRUE(fs.crashed());
  std::vector<std::string> names;
  EXPECT_FALSE(fs.ListDir("/d", &names).ok());
  fs.PowerLoss();
  EXPECT_FALSE(fs.crashed());
  EXPECT_TRUE(fs.ListDir("/d", &names).ok());
  EXPECT_TRUE(names.empty());
}

TEST(FaultFileSystemTest, Locks) {
  FaultInjectingFileSystem fs;
  std::unique_ptr<FileLock> a, b;
  ASSERT_TRUE(fs.LockFile("/d/LOCK", &a).ok());
  EXPECT_EQ(fs.LockFile("/d/LOCK", &b).code(), Status::Code::kLocked);
  a.reset();
  EXPECT_TRUE(fs.LockFile("/d/LOCK", &b).ok());
}

}  // namespace
}  // namespace pwal
