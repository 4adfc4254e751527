// Helpers shared by the native tests: temporary directories and deterministic random bytes.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace pwal {
namespace testing {

// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<uint8_t> RandomBytes(std::mt19937_64* rng, size_t n);

// The whole content of a file (empty if it cannot be read).
std::string Slurp(const std::string& path);

}  // namespace testing
}  // namespace pwal
