#include "ops/shortcut.hpp"

#include "core/error.hpp"
#include "push_shortcut.h"

namespace vkres::ops {
namespace {

void check_shape(const ShortcutAShape& s) {
  VKRES_ASSERT(s.n > 0 && s.h > 0 && s.w > 0 && s.cin > 0 && s.stride > 0,
               "shortcut A: sizes and stride must be positive");
  VKRES_ASSERT(s.pad_before >= 0 && s.pad_before + s.cin <= s.cout,
               "shortcut A: cin channels after pad_before exceed cout");
  // Kernels index with 32 bits.
  VKRES_ASSERT(s.input_count() <= UINT32_MAX && s.output_count() <= UINT32_MAX,
               "shortcut A: more than 2^32 elements in one dispatch");
}

// check_shape has made every field positive (pad_before non-negative).
push::ShortcutPush shortcut_push(const ShortcutAShape& s, bool accumulate) {
  auto u = [](int v) { return static_cast<uint32_t>(v); };
  return {u(s.n),    u(s.h),    u(s.w),      u(s.cin),          u(s.cout),
          u(s.oh()), u(s.ow()), u(s.stride), u(s.pad_before), accumulate};
}

}  // namespace

void shortcut_a_forward(OpSink& sink, const ShortcutAShape& s, TensorId x, TensorId y) {
  check_shape(s);
  Dispatch d = dispatch_1d(sink, "shortcut_fwd", s.output_count(), "shortcut A fwd");
  d.push = graph::PushConstants::of(shortcut_push(s, false));
  d.bindings = {{x, Access::read}, {y, Access::write}};
  sink.dispatch(std::move(d));
}

void shortcut_a_backward(OpSink& sink, const ShortcutAShape& s, TensorId dy, GradOut dx) {
  check_shape(s);
  Dispatch d = dispatch_1d(sink, "shortcut_bwd", s.input_count(), "shortcut A bwd");
  d.push = graph::PushConstants::of(shortcut_push(s, dx.accumulate));
  d.bindings = {{dy, Access::read}, {dx.tensor, dx.access()}};
  sink.dispatch(std::move(d));
}

}  // namespace vkres::ops
