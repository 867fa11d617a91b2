// File: tests/fuzz/fuzz_input.h
// FuzzInput: reads integers and byte strings off the front of a fuzz input; past the end it
// yields zeros, so every input is usable. A tiny stand-in for libFuzzer's FuzzedDataProvider, which
// the GCC standalone build does not have. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "crypto/digest.h"

namespace itmo::fuzz {

class FuzzInput final {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint8_t Byte() { return offset_ < size_ ? data_[offset_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(Byte() | (Byte() << 8)); }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(Byte()) << (8 * i);
    return v;
  }
  crypto::Digest Digest() {
    crypto::Digest d{};
    for (uint8_t& b : d) b = Byte();
    return d;
  }
  // The rest of the input.
  std::string Rest() {
    if (offset_ >= size_) return "";
    std::string out(reinterpret_cast<const char*>(data_) + offset_, size_ - offset_);
    offset_ = size_;
    return out;
  }
  size_t remaining() const { return size_ - offset_; }

 private:
  const uint8_t* const data_;
  const size_t size_;
  size_t offset_ = 0;
};

}  // namespace itmo::fuzz
