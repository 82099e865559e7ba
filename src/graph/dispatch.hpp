// What an op builder produces: dispatches that name a kernel, its launch shape, and the tensors it
// reads and writes. Ops never see a command buffer or a barrier: whoever records the dispatches
// (graph::Program now, the training-step graph later) derives the barriers from these accesses.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "vk/kernel_choices.hpp"
#include "vk/limits.hpp"

namespace vkres::graph {

enum class Access : uint8_t { read = 1, write = 2, read_write = 3 };
inline bool reads(Access a) { return static_cast<uint8_t>(a) & 1; }
inline bool writes(Access a) { return static_cast<uint8_t>(a) & 2; }

struct TensorId {
  uint32_t index = UINT32_MAX;
  bool valid() const { return index != UINT32_MAX; }
  auto operator<=>(const TensorId&) const = default;
};

// How a kernel sees a bound tensor. A read-only binding may be a uniform texel buffer of fp32
// texels (GLSL samplerBuffer, one float or four per texelFetch): CPU drivers load those through
// their sampler path, several times faster than per-lane storage-buffer loads
// (shared/reference/lavapipe.md). An rgba32f view needs a tensor of whole texels; rgba32i is the
// same for int32 tensors (GLSL isamplerBuffer: the max-pool argmax).
enum class View : uint8_t { storage, texels_r32f, texels_rgba32f, texels_rgba32i };
inline bool is_texels(View v) { return v != View::storage; }
inline uint32_t floats_per_texel(View v) { return v == View::texels_rgba32f || v == View::texels_rgba32i ? 4 : 1; }

struct Binding {
  TensorId tensor;
  Access access = Access::read;
  View view = View::storage;
};

// Push constants travel as raw bytes; the struct that fills them is declared once in a header
// shared by the GLSL and the C++ side (shaders/include/*.h).
struct PushConstants {
  std::array<std::byte, 128> bytes{};
  uint32_t size = 0;
  template <class T>
  static PushConstants of(const T& value) {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 128 && sizeof(T) % 4 == 0);
    PushConstants p;
    std::memcpy(p.bytes.data(), &value, sizeof(T));
    p.size = sizeof(T);
    return p;
  }
};

struct Dispatch {
  std::string kernel;          // shaders/<kernel>.comp
  std::vector<uint32_t> spec;  // specialization constants; [0] is local_size_x
  PushConstants push;
  std::vector<Binding> bindings;  // binding i of set 0
  std::array<uint32_t, 3> groups = {1, 1, 1};
  std::string label;  // which op and pass, for profiles and error messages
  double flops = 0;   // useful floating-point operations, for GFLOP/s figures
};

// The receiving end of op builders.
class OpSink {
 public:
  virtual ~OpSink() = default;
  // A buffer private to one op (split-K partial sums and the like), alive from this dispatch on
  // until the op's last dispatch that uses it.
  virtual TensorId scratch(uint64_t bytes, std::string name) = 0;
  virtual void dispatch(Dispatch d) = 0;
  virtual const vk::DeviceLimits& limits() const = 0;
  // Tuned kernel variants by op pass and shape (vk/kernel_choices.hpp); none by default.
  virtual const vk::KernelChoices* kernel_choices() const { return nullptr; }
  // Whether the ops go into a training step, where each convolution's forward is followed by its
  // filter gradient: the forward's variant may then be the one tuned together with that gradient
  // (ops::conv2d_training_forward_key).
  virtual bool builds_training() const { return false; }
};

// Lays `groups` workgroups out over x (up to the device's limit) and y; shaders recover the linear
// index with linear_group_id() (shaders/include/common.glsl).
std::array<uint32_t, 3> grid_1d(uint64_t groups, const vk::DeviceLimits& limits);

inline uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace vkres::graph
