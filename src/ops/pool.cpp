#include "ops/pool.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "push_pool.h"

namespace vkres::ops {
namespace {

void check_shape(const Pool2dShape& s) {
  VKRES_ASSERT(s.n > 0 && s.h > 0 && s.w > 0 && s.c > 0 && s.kh > 0 && s.kw > 0 && s.stride_h > 0 && s.stride_w > 0,
               "maxpool: sizes, kernel and strides must be positive");
  VKRES_ASSERT(s.pad_h >= 0 && s.pad_w >= 0 && s.pad_h <= s.kh / 2 && s.pad_w <= s.kw / 2,
               fmt::format("maxpool: padding {}x{} exceeds half the {}x{} kernel", s.pad_h, s.pad_w, s.kh, s.kw));
  VKRES_ASSERT(s.h + 2 * s.pad_h >= s.kh && s.w + 2 * s.pad_w >= s.kw,
               "maxpool: kernel is larger than the padded input");
  // Kernels index with 32 bits; argmax holds iy * w + ix as int32.
  VKRES_ASSERT(s.input_count() <= UINT32_MAX, "maxpool: more than 2^32 inputs in one dispatch");
  VKRES_ASSERT(uint64_t(s.h) * s.w <= INT32_MAX, "maxpool: image too large for int32 argmax");
}

// check_shape has made every field positive (pads non-negative).
push::MaxPoolPush maxpool_push(const Pool2dShape& s, bool accumulate) {
  auto u = [](int v) { return static_cast<uint32_t>(v); };
  return {u(s.n),  u(s.h),        u(s.w),        u(s.c),     u(s.oh()),  u(s.ow()),  u(s.kh),
          u(s.kw), u(s.stride_h), u(s.stride_w), u(s.pad_h), u(s.pad_w), accumulate};
}

void check_avgpool_shape(uint32_t n, uint32_t h, uint32_t w, uint32_t c) {
  VKRES_ASSERT(n && h && w && c, "global avgpool: n, h, w and c must be positive");
}

// The _texels kernels: four channels per invocation, x and dy read through rgba32f views and the
// argmax through rgba32i ones.
bool maxpool_texels(const OpSink& sink, const Pool2dShape& s) {
  return s.c % 4 == 0 && texel_reads(sink, s.input_count()) && texel_reads(sink, s.output_count());
}

// One invocation per element, or per four channels of one pixel.
Dispatch maxpool_dispatch(const OpSink& sink, const Pool2dShape& s, bool texels, const char* pass, uint64_t elements,
                          bool accumulate) {
  Dispatch d = dispatch_1d(sink, std::string("maxpool_") + pass + (texels ? "_texels" : ""),
                           texels ? elements / 4 : elements, std::string("maxpool ") + pass);
  d.push = graph::PushConstants::of(maxpool_push(s, accumulate));
  return d;
}

}  // namespace

void maxpool_forward(OpSink& sink, const Pool2dShape& s, TensorId x, TensorId y, TensorId argmax) {
  check_shape(s);
  if (!argmax.valid()) argmax = sink.scratch(s.output_count() * sizeof(int32_t), "maxpool argmax (unused)");
  const bool texels = maxpool_texels(sink, s);
  Dispatch d = maxpool_dispatch(sink, s, texels, "fwd", s.output_count(), false);
  d.bindings = {{x, Access::read, texels ? View::texels_rgba32f : View::storage},
                {y, Access::write},
                {argmax, Access::write}};
  d.flops = static_cast<double>(s.output_count()) * s.kh * s.kw;  // comparisons
  sink.dispatch(std::move(d));
}

void maxpool_backward(OpSink& sink, const Pool2dShape& s, TensorId argmax, TensorId dy, GradOut dx) {
  check_shape(s);
  const bool texels = maxpool_texels(sink, s);
  Dispatch d = maxpool_dispatch(sink, s, texels, "bwd", s.input_count(), dx.accumulate);
  d.bindings = {{argmax, Access::read, texels ? View::texels_rgba32i : View::storage},
                {dy, Access::read, texels ? View::texels_rgba32f : View::storage},
                {dx.tensor, dx.access()}};
  d.flops = static_cast<double>(s.output_count());  // every dy is added once
  sink.dispatch(std::move(d));
}

// Four channels per invocation through rgba32f texel views: a quarter of the loads (the forward) or
// one load per image instead of one per element (the backward).
bool avgpool_texels(const OpSink& sink, uint64_t pixel_count, uint32_t n, uint32_t c) {
  return c % 4 == 0 && texel_reads(sink, pixel_count) && texel_reads(sink, uint64_t(n) * c);
}

void global_avgpool_forward(OpSink& sink, uint32_t n, uint32_t h, uint32_t w, uint32_t c, TensorId x, TensorId y) {
  check_avgpool_shape(n, h, w, c);
  VKRES_ASSERT(uint64_t(n) * h * w * c <= UINT32_MAX, "global avgpool fwd: more than 2^32 inputs");
  const bool texels = avgpool_texels(sink, uint64_t(n) * h * w * c, n, c);
  Dispatch d = texels ? dispatch_1d(sink, "avgpool_fwd_texels", uint64_t(n) * c / 4, "global avgpool fwd")
                      : dispatch_1d(sink, "avgpool_fwd", uint64_t(n) * c, "global avgpool fwd");
  d.push = graph::PushConstants::of(push::AvgPoolPush{n, h * w, c, 0});
  d.bindings = {{x, Access::read, texels ? View::texels_rgba32f : View::storage}, {y, Access::write}};
  d.flops = static_cast<double>(n) * h * w * c;
  sink.dispatch(std::move(d));
}

void global_avgpool_backward(OpSink& sink, uint32_t n, uint32_t h, uint32_t w, uint32_t c, TensorId dy, GradOut dx) {
  check_avgpool_shape(n, h, w, c);
  const uint64_t count = uint64_t(n) * h * w * c;
  const bool texels = avgpool_texels(sink, count, n, c);
  Dispatch d = texels ? dispatch_1d(sink, "avgpool_bwd_texels", uint64_t(n) * c / 4, "global avgpool bwd")
                      : dispatch_1d(sink, "avgpool_bwd", count, "global avgpool bwd");
  d.push = graph::PushConstants::of(push::AvgPoolPush{n, h * w, c, dx.accumulate});
  d.bindings = {{dy, Access::read, texels ? View::texels_rgba32f : View::storage}, {dx.tensor, dx.access()}};
  d.flops = static_cast<double>(count);
  sink.dispatch(std::move(d));
}

}  // namespace vkres::ops
