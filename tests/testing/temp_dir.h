// File: tests/testing/temp_dir.h
// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
// Not thread-safe; one per test.
#pragma once

#include <string>

namespace itmo::testing {

class TempDir final {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace itmo::testing
