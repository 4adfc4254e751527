#include "wal_registry.h"

#include <map>
#include <mutex>
#include <utility>

namespace pwal {

namespace {

struct Entry {
  std::shared_ptr<Wal> wal;
  size_t refs = 0;
};

struct Registry {
  std::mutex mu;
  std::map<std::string, Entry> entries;
};

Registry& Reg() {
  static auto* reg = new Registry();  // never destroyed (see wal_registry.h)
  return *reg;
}

}  // namespace

std::shared_ptr<Wal> AcquireWal(const std::string& db_path, const WalOptions& options,
                                Status* status) {
  const std::string key = CanonicalWalPath(db_path);
  Registry& r = Reg();
  std::lock_guard<std::mutex> g(r.mu);
  auto it = r.entries.find(key);
  if (it != r.entries.end()) {
    ++it->second.refs;
    if (status != nullptr) *status = Status::OK();
    return it->second.wal;
  }
  std::shared_ptr<Wal> wal;
  Status st = Wal::Open(key, options, &wal);
  if (status != nullptr) *status = st;
  if (!st.ok()) return nullptr;
  r.entries.emplace(key, Entry{wal, 1});
  return wal;
}

Status ReleaseWal(const std::shared_ptr<Wal>& wal, bool abort) {
  if (wal == nullptr) return Status::OK();
  std::shared_ptr<Wal> last;
  {
    Registry& r = Reg();
    std::lock_guard<std::mutex> g(r.mu);
    auto it = r.entries.find(wal->db_path());
    if (it == r.entries.end() || it->second.wal != wal) return Status::OK();  // removed already
    if (--it->second.refs == 0) {
      last = std::move(it->second.wal);
      r.entries.erase(it);
    }
  }
  if (last == nullptr) return Status::OK();
  return last->Close(abort);  // joins the flusher on this thread
}

Status RemoveWal(const std::string& db_path, bool abort) {
  std::shared_ptr<Wal> wal;
  {
    Registry& r = Reg();
    std::lock_guard<std::mutex> g(r.mu);
    auto it = r.entries.find(CanonicalWalPath(db_path));
    if (it == r.entries.end()) return Status::NotFound("no WAL registered for " + db_path);
    wal = std::move(it->second.wal);
    r.entries.erase(it);
  }
  return wal->Close(abort);
}

std::shared_ptr<Wal> FindWal(const std::string& db_path) {
  Registry& r = Reg();
  std::lock_guard<std::mutex> g(r.mu);
  auto it = r.entries.find(CanonicalWalPath(db_path));
  return it == r.entries.end() ? nullptr : it->second.wal;
}

size_t RegisteredWalCount() {
  Registry& r = Reg();
  std::lock_guard<std::mutex> g(r.mu);
  return r.entries.size();
}

}  // namespace pwal
