#include "ops/elementwise.hpp"

#include "push_elementwise.h"
#include "core/error.hpp"

namespace vkres::ops {

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
  Dispatch d = dispatch_1d(sink, "relu_fwd", count, "relu fwd");
  d.push = graph::PushConstants::of(push::ElementwisePush{static_cast<uint32_t>(count), 0});
  d.bindings = {{x, Access::read}, {y, Access::write}};
  sink.dispatch(std::move(d));
}

void relu_backward(OpSink& sink, TensorId x, TensorId dy, GradOut dx, uint64_t count) {
  Dispatch d = dispatch_1d(sink, "relu_bwd", count, "relu bwd");
  d.push = graph::PushConstants::of(push::ElementwisePush{static_cast<uint32_t>(count), dx.accumulate});
  d.bindings = {{x, Access::read}, {dy, Access::read}, {dx.tensor, dx.access()}};
  sink.dispatch(std::move(d));
}

void add(OpSink& sink, TensorId a, TensorId b, GradOut y, uint64_t count) {
  Dispatch d = dispatch_1d(sink, "add", count, "add");
  d.push = graph::PushConstants::of(push::ElementwisePush{static_cast<uint32_t>(count), y.accumulate});
  d.bindings = {{a, Access::read}, {b, Access::read}, {y.tensor, y.access()}};
  d.flops = static_cast<double>(count);
  sink.dispatch(std::move(d));
}

void copy(OpSink& sink, TensorId src, GradOut dst, uint64_t count) {
  Dispatch d = dispatch_1d(sink, "copy", count, "copy");
  d.push = graph::PushConstants::of(push::ElementwisePush{static_cast<uint32_t>(count), dst.accumulate});
  d.bindings = {{src, Access::read}, {dst.tensor, dst.access()}};
  sink.dispatch(std::move(d));
}

}  // namespace vkres::ops
