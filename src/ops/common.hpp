// Conventions shared by the op builders.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/shapes.hpp"
#include "graph/dispatch.hpp"

namespace vkres::ops {

using graph::Access;
using graph::Dispatch;
using graph::OpSink;
using graph::TensorId;
using graph::View;

// Where a gradient goes. The graph's autodiff writes the first contribution to a tensor and
// accumulates later ones, in a fixed order; kernels that produce gradients honour this flag.
struct GradOut {
  TensorId tensor;
  bool accumulate = false;
  Access access() const { return accumulate ? Access::read_write : Access::write; }
};

// Workgroup size for simple one-element-per-invocation kernels. 64 fits every device (Android
// guarantees 128) and is a whole number of subgroups everywhere we have seen.
inline uint32_t elementwise_local_size(const vk::DeviceLimits& l) {
  return std::min<uint32_t>(64, l.max_workgroup_invocations);
}

// Lanes per workgroup of a GEMM kernel whose lanes each own tile_rows of `rows` rows (the
// convolution passes, the Winograd GEMM): fewer than elementwise_local_size when the rows run out,
// so that a small layer (late stages, small batches) does not compute a whole workgroup of copies
// of its last row. A power of two, so pipelines stay few.
inline uint32_t gemm_rows_local_size(const OpSink& sink, uint64_t rows, uint32_t tile_rows) {
  const uint64_t lanes_needed = graph::ceil_div(rows, tile_rows);
  uint32_t local = 1;
  while (local < lanes_needed && local < elementwise_local_size(sink.limits())) local *= 2;
  return local;
}

// Whether kernels may read `floats` floats of one tensor through an rgba32f texel view (graph::View):
// a whole number of texels that fits the device's view limit, unless VKRES_LOADS=storage forces
// storage-buffer reads everywhere (the test suite runs once so, to cover those variants).
bool texel_reads(const OpSink& sink, uint64_t floats);
// The same for an r32f texel view (one float per texel): any count within the view limit.
bool r32f_texel_reads(const OpSink& sink, uint64_t floats);

// A dispatch of `count` invocations of a one-dimensional kernel.
Dispatch dispatch_1d(const OpSink& sink, std::string kernel, uint64_t count, std::string label);

}  // namespace vkres::ops
