#include "ops/elementwise.hpp"

#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "push_elementwise.h"

namespace vkres::ops {
namespace {

bool storage_loads_forced() {
  const char* s = std::getenv("VKRES_LOADS");
  if (!s || !*s || !std::strcmp(s, "auto")) return false;
  if (!std::strcmp(s, "storage")) return true;
  throw Error(fmt::format("VKRES_LOADS: unknown value '{}'", s), "use 'auto' or 'storage'");
}

// Keep in sync with VEC4_PER_LANE in shaders/include/elementwise_texels.glsl.
constexpr uint64_t kVec4PerLane = 16;

// `kernel` over `count` floats read from `inputs`: its _texels variant (vec4s, inputs as rgba32f
// texel views, one contiguous chunk per workgroup) where the count allows, else the one-float-per-
// invocation storage kernel. The output binding goes last, as a storage buffer.
Dispatch elementwise(const OpSink& sink, const std::string& kernel, uint64_t count, std::vector<TensorId> inputs,
                     TensorId output, Access output_access, bool accumulate, std::string label, bool relu = false) {
  const bool texels = texel_reads(sink, count);
  Dispatch d;
  if (texels) {
    const uint32_t local = elementwise_local_size(sink.limits());
    d.kernel = kernel + "_texels";
    d.spec = {local};
    d.groups = graph::grid_1d(graph::ceil_div(count / 4, local * kVec4PerLane), sink.limits());
    d.label = std::move(label);
  } else {
    d = dispatch_1d(sink, kernel, count, std::move(label));
  }
  const uint64_t elements = texels ? count / 4 : count;
  VKRES_ASSERT(elements <= UINT32_MAX, d.label + ": more than 2^32 elements in one dispatch");
  d.push = graph::PushConstants::of(push::ElementwisePush{static_cast<uint32_t>(elements), accumulate, relu});
  for (TensorId t : inputs) d.bindings.push_back({t, Access::read, texels ? View::texels_rgba32f : View::storage});
  d.bindings.push_back({output, output_access});
  return d;
}

}  // namespace

bool texel_reads(const OpSink& sink, uint64_t floats) {
  static const bool storage_only = storage_loads_forced();
  return !storage_only && floats % 4 == 0 && floats / 4 <= sink.limits().max_texel_buffer_elements;
}

bool r32f_texel_reads(const OpSink& sink, uint64_t floats) {
  static const bool storage_only = storage_loads_forced();
  return !storage_only && floats <= sink.limits().max_texel_buffer_elements;
}

Dispatch dispatch_1d(const OpSink& sink, std::string kernel, uint64_t count, std::string label) {
  VKRES_ASSERT(count <= UINT32_MAX, label + ": more than 2^32 elements in one dispatch");
  const uint32_t local = elementwise_local_size(sink.limits());
  Dispatch d;
  d.kernel = std::move(kernel);
  d.spec = {local};
  d.groups = graph::grid_1d(graph::ceil_div(count, local), sink.limits());
  d.label = std::move(label);
  return d;
}

void fill(OpSink& sink, TensorId dst, uint64_t count, float value) {
  Dispatch d = dispatch_1d(sink, "fill", count, "fill");
  d.push = graph::PushConstants::of(push::FillPush{static_cast<uint32_t>(count), value});
  d.bindings = {{dst, Access::write}};
  sink.dispatch(std::move(d));
}

void relu_forward(OpSink& sink, TensorId x, TensorId y, uint64_t count) {
  sink.dispatch(elementwise(sink, "relu_fwd", count, {x}, y, Access::write, false, "relu fwd"));
}

void relu_backward(OpSink& sink, TensorId x, TensorId dy, GradOut dx, uint64_t count) {
  sink.dispatch(elementwise(sink, "relu_bwd", count, {x, dy}, dx.tensor, dx.access(), dx.accumulate, "relu bwd"));
}

void add(OpSink& sink, TensorId a, TensorId b, GradOut y, uint64_t count, bool relu) {
  VKRES_ASSERT(!(relu && y.accumulate), "add: the fused ReLU is for the residual add, which never accumulates");
  Dispatch d = elementwise(sink, "add", count, {a, b}, y.tensor, y.access(), y.accumulate, relu ? "add + relu" : "add",
                           relu);
  d.flops = static_cast<double>(count) * (relu ? 2 : 1);
  sink.dispatch(std::move(d));
}

void copy(OpSink& sink, TensorId src, GradOut dst, uint64_t count) {
  sink.dispatch(elementwise(sink, "copy", count, {src}, dst.tensor, dst.access(), dst.accumulate, "copy"));
}

}  // namespace vkres::ops
