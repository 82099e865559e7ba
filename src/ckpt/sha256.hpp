// SHA-256 (FIPS 180-4), incremental: the content hash checkpoints carry. Our own implementation
// because the library must build where OpenSSL is not available (Android).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace vkres::ckpt {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::byte> data);
  // The digest of everything given so far; the object must not be updated afterwards.
  Sha256Digest finish();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> block_{};
  std::size_t block_used_ = 0;
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

// The digest of one buffer.
Sha256Digest sha256(std::span<const std::byte> data);
// Lowercase hex, as sha256sum and Python's hashlib print it.
std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace vkres::ckpt
