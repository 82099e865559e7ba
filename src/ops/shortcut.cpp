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

// Four channels per invocation through rgba32f texel views where every channel offset is a whole
// texel: on CPU drivers several times faster than a per-lane storage load of each float.
bool use_texels(const OpSink& sink, const ShortcutAShape& s) {
  return s.cin % 4 == 0 && s.cout % 4 == 0 && s.pad_before % 4 == 0 && texel_reads(sink, s.input_count()) &&
         texel_reads(sink, s.output_count());
}

}  // namespace

void shortcut_a_forward(OpSink& sink, const ShortcutAShape& s, TensorId x, TensorId y) {
  check_shape(s);
  const bool texels = use_texels(sink, s);
  Dispatch d = texels ? dispatch_1d(sink, "shortcut_fwd_texels", uint64_t(s.n) * s.oh() * s.ow(), "shortcut A fwd")
                      : dispatch_1d(sink, "shortcut_fwd", s.output_count(), "shortcut A fwd");
  d.push = graph::PushConstants::of(shortcut_push(s, false));
  d.bindings = {{x, Access::read, texels ? View::texels_rgba32f : View::storage}, {y, Access::write}};
  sink.dispatch(std::move(d));
}

void shortcut_a_backward(OpSink& sink, const ShortcutAShape& s, TensorId dy, GradOut dx) {
  check_shape(s);
  const bool texels = use_texels(sink, s);
  // The texel kernel takes a pixel per invocation; accumulating, only the sampled ones.
  const uint64_t pixels = dx.accumulate ? uint64_t(s.n) * s.oh() * s.ow() : uint64_t(s.n) * s.h * s.w;
  Dispatch d = texels ? dispatch_1d(sink, "shortcut_bwd_texels", pixels, "shortcut A bwd")
                      : dispatch_1d(sink, "shortcut_bwd", s.input_count(), "shortcut A bwd");
  d.push = graph::PushConstants::of(shortcut_push(s, dx.accumulate));
  d.bindings = {{dy, Access::read, texels ? View::texels_rgba32f : View::storage}, {dx.tensor, dx.access()}};
  sink.dispatch(std::move(d));
}

}  // namespace vkres::ops
