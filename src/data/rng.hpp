// The data module's only randomness: splitmix64, seeded explicitly from a key of integers (seed,
// split, index / seed, epoch, position). Every random draw in src/data is a pure function of such
// a key, so images, crops and epoch orders never depend on thread scheduling or global state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace vkres::data {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}

  // A generator seeded by hashing the words of a key in order.
  static SplitMix64 keyed(std::initializer_list<uint64_t> key) {
    uint64_t h = 0x6a09e667f3bcc909ull;
    for (uint64_t word : key) h = mix(h ^ mix(word + 0x9e3779b97f4a7c15ull));
    return SplitMix64(h);
  }

  uint64_t next() { return mix(state_ += 0x9e3779b97f4a7c15ull); }
  // Uniform in [0, n); the modulo bias is below 2^-40 for the small n used here.
  uint64_t below(uint64_t n) { return next() % n; }
  // Uniform in [0, 1) with 24 bits, exact in float.
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Uniform in [0, 1) with 53 bits.
  double uniform_double() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  uint64_t state_;
};

}  // namespace vkres::data
