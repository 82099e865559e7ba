// SHA-256 against the FIPS 180-2 test vectors (appendix B and C), and incremental updates split
// at every awkward place (inside a block, on block edges, around the 56-byte padding limit).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "ckpt/sha256.hpp"

namespace vkres::ckpt {
namespace {

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text)); }

std::string hex_sha256(std::string_view text) { return to_hex(sha256(bytes_of(text))); }

TEST(Sha256, EmptyMessage) {
  EXPECT_EQ(hex_sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, Abc) {
  EXPECT_EQ(hex_sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, TwoBlockMessage448Bits) {
  EXPECT_EQ(hex_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, OneMillionA) {
  const std::string million(1'000'000, 'a');
  EXPECT_EQ(hex_sha256(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // The same in 1000 updates of 1000 bytes, as a file written tensor by tensor is hashed.
  Sha256 hash;
  for (int i = 0; i < 1000; ++i) hash.update(bytes_of(std::string_view(million).substr(0, 1000)));
  EXPECT_EQ(to_hex(hash.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, SplitUpdatesEqualOneUpdate) {
  std::string message;
  for (int i = 0; i < 300; ++i) message.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  // Every length across the padding edge cases (55, 56, 63, 64, 119, 120 ...), each split in three.
  for (std::size_t length : {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 300}) {
    const std::string_view m = std::string_view(message).substr(0, length);
    const std::string whole = to_hex(sha256(bytes_of(m)));
    for (std::size_t a = 0; a <= length; a += 7) {
      for (std::size_t b = a; b <= length; b += 13) {
        Sha256 hash;
        hash.update(bytes_of(m.substr(0, a)));
        hash.update(bytes_of(m.substr(a, b - a)));
        hash.update(bytes_of(m.substr(b)));
        ASSERT_EQ(to_hex(hash.finish()), whole) << "length " << length << " split at " << a << ", " << b;
      }
    }
  }
}

TEST(Sha256, HexIsLowercaseTwoDigitsPerByte) {
  const std::vector<uint8_t> bytes{0x00, 0x0f, 0xa0, 0xff};
  EXPECT_EQ(to_hex(bytes), "000fa0ff");
}

}  // namespace
}  // namespace vkres::ckpt
