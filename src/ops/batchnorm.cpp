#include "ops/batchnorm.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "core/error.hpp"
#include "ops/elementwise.hpp"
#include "push_batchnorm.h"

namespace vkres::ops {
namespace {

// Work per workgroup of the row-walking passes: enough for each invocation to stream a long
// contiguous run (CPU drivers pay per workgroup; on lavapipe 4x less per workgroup ran ~20% slower),
// small enough that a ResNet-20 layer at batch 128 still gets 32-128 workgroups. The chunk cap
// bounds scratch and the serial merge.
constexpr uint64_t kFloatsPerWorkgroup = 16384;
constexpr uint64_t kMaxChunks = 512;

// Scratch rows of per-channel quantities: partial sums per slot, then coefficients (see
// shaders/include/batchnorm_common.glsl for their order).
constexpr uint32_t kPartialQuantities = 2;
constexpr uint32_t kForwardCoeffRows = 4;
constexpr uint32_t kBackwardCoeffRows = 6;

// How the row-walking passes split [count][c] into workgroups (see push_batchnorm.h). Their
// elements are vec4s of channels where c allows (fewer, wider memory accesses), else floats.
struct Geometry {
  uint32_t width = 1;  // floats per element
  bool texels = false;  // x and dy read through rgba32f texel views (width 4 only)
  View rows_view() const { return texels ? View::texels_rgba32f : View::storage; }
  uint32_t local = 0;
  uint32_t tile_width = 0;  // in elements
  uint32_t phases = 0;
  uint32_t tiles = 0;
  uint32_t rows_per_chunk = 0;
  uint32_t chunks = 0;
  uint64_t slots() const { return uint64_t(chunks) * phases; }
  uint64_t workgroups() const { return uint64_t(tiles) * chunks; }
};

void check_params(const BatchNormShape& p, int64_t min_count, const char* op) {
  VKRES_ASSERT(p.c >= 1 && p.count >= min_count, fmt::format("{}: count {} and c {}", op, p.count, p.c));
  VKRES_ASSERT(uint64_t(p.count) * uint64_t(p.c) <= UINT32_MAX,
               fmt::format("{}: {} x {} elements exceed 32-bit indexing", op, p.count, p.c));
}

Geometry geometry(const OpSink& sink, const BatchNormShape& p) {
  Geometry g;
  g.width = p.c % 4 == 0 ? 4 : 1;
  g.texels = g.width == 4 && texel_reads(sink, uint64_t(p.count) * uint64_t(p.c));
  g.local = elementwise_local_size(sink.limits());
  const uint32_t row_elements = static_cast<uint32_t>(p.c) / g.width;
  g.tile_width = std::min(row_elements, g.local);
  g.phases = g.local / g.tile_width;
  g.tiles = static_cast<uint32_t>(graph::ceil_div(row_elements, g.tile_width));
  const uint64_t count = static_cast<uint64_t>(p.count);
  const uint64_t floats_per_tile = count * g.tile_width * g.width;
  const uint64_t wanted_chunks =
      std::clamp<uint64_t>(graph::ceil_div(floats_per_tile, kFloatsPerWorkgroup), 1, kMaxChunks);
  const uint64_t rows = graph::ceil_div(graph::ceil_div(count, wanted_chunks), g.phases) * g.phases;
  g.rows_per_chunk = static_cast<uint32_t>(rows);
  g.chunks = static_cast<uint32_t>(graph::ceil_div(count, rows));
  return g;
}

std::string kernel_name(const Geometry& g, const char* pass) {
  return std::string("batchnorm_") + pass + (g.texels ? "_texels" : g.width == 4 ? "_vec4" : "");
}

// Push constants in units of `width` floats: the row-walking passes index elements, the
// per-channel passes floats. coeffs_floats is where the coefficients start in scratch.
push::BatchNormPush make_push(const BatchNormShape& p, const Geometry& g, uint32_t width, uint64_t coeffs_floats,
                              bool accumulate) {
  push::BatchNormPush pc{};
  pc.count = static_cast<uint32_t>(p.count);
  pc.channels = static_cast<uint32_t>(p.c) / width;
  pc.tile_width = g.tile_width;
  pc.phases = g.phases;
  pc.rows_per_chunk = g.rows_per_chunk;
  pc.chunks = g.chunks;
  pc.coeffs_offset = static_cast<uint32_t>(coeffs_floats / width);
  pc.accumulate = accumulate;
  pc.eps = p.eps;
  pc.momentum = p.momentum;
  return pc;
}

// A pass in which each invocation walks rows of one channel (or one vec4 of channels).
// relu: the pass's fused ReLU (see push_batchnorm.h).
Dispatch row_walk_pass(const OpSink& sink, const BatchNormShape& p, const Geometry& g, const char* pass,
                       uint64_t coeffs_floats, bool accumulate, std::string label, double flops_per_float,
                       bool relu = false) {
  Dispatch d;
  d.kernel = kernel_name(g, pass);
  d.spec = {g.local};
  push::BatchNormPush pc = make_push(p, g, g.width, coeffs_floats, accumulate);
  pc.relu = relu;
  d.push = graph::PushConstants::of(pc);
  d.groups = graph::grid_1d(g.workgroups(), sink.limits());
  d.label = std::move(label);
  d.flops = flops_per_float * double(p.count) * double(p.c);
  return d;
}

// A pass with one invocation per channel.
Dispatch channel_pass(const OpSink& sink, const BatchNormShape& p, const Geometry& g, const char* pass,
                      uint64_t coeffs_floats, bool accumulate, std::string label, double flops_per_channel) {
  Dispatch d;
  d.kernel = std::string("batchnorm_") + pass;
  d.spec = {g.local};
  d.push = graph::PushConstants::of(make_push(p, g, 1, coeffs_floats, accumulate));
  d.groups = graph::grid_1d(graph::ceil_div(p.c, g.local), sink.limits());
  d.label = std::move(label);
  d.flops = flops_per_channel * double(p.c);
  return d;
}

// Scratch holds the partial results of every slot, then the coefficient rows.
uint64_t partials_floats(const BatchNormShape& p, const Geometry& g) {
  return kPartialQuantities * g.slots() * uint64_t(p.c);
}

TensorId op_scratch(OpSink& sink, const BatchNormShape& p, uint64_t coeffs_floats, uint32_t coeff_rows,
                    const char* name) {
  return sink.scratch((coeffs_floats + uint64_t(coeff_rows) * uint64_t(p.c)) * sizeof(float), name);
}

// The last forward pass, shared by training and evaluation: y from x and the coefficients, plus
// the residual where there is one.
void apply(OpSink& sink, const BatchNormShape& p, const Geometry& g, uint64_t coeffs_floats, TensorId x,
           TensorId scratch, TensorId y, bool relu, std::optional<TensorId> residual, std::string label) {
  label += std::string(residual ? " + add" : "") + (relu ? " + relu" : "");
  Dispatch d = row_walk_pass(sink, p, g, residual ? "apply_add" : "apply", coeffs_floats, false, std::move(label),
                             4.0 + (residual ? 1 : 0) + (relu ? 1 : 0), relu);
  d.bindings = {{x, Access::read, g.rows_view()}, {scratch, Access::read}, {y, Access::write}};
  if (residual) d.bindings.push_back({*residual, Access::read, g.rows_view()});
  sink.dispatch(std::move(d));
}

// The three backward passes. relu: as batchnorm_backward's; mask: the output of a ReLU after a
// residual add, by which the texel kernels mask dy and which they write back masked.
void backward_passes(OpSink& sink, const BatchNormShape& p, const Geometry& g, TensorId x, TensorId dy,
                     TensorId affine, TensorId saved, GradOut daffine, GradOut dx, bool relu,
                     std::optional<TensorId> mask) {
  VKRES_ASSERT(!mask || (g.texels && !relu), "batchnorm backward: the residual ReLU's mask needs texel reads");
  const uint64_t coeffs = partials_floats(p, g);
  const TensorId scratch = op_scratch(sink, p, coeffs, kBackwardCoeffRows, "batchnorm bwd scratch");
  const std::string fused = relu || mask ? " + relu" : "";
  const char* sums_kernel = mask ? "bwd_sums_masked" : "bwd_sums";
  Dispatch sums = row_walk_pass(sink, p, g, sums_kernel, coeffs, false, "batchnorm bwd sums" + fused, 5, relu);
  sums.bindings = {{x, Access::read, g.rows_view()},
                   {dy, Access::read, g.rows_view()},
                   {saved, Access::read},
                   {scratch, Access::write}};
  if (mask) sums.bindings.push_back({*mask, Access::read, g.rows_view()});
  sink.dispatch(std::move(sums));

  Dispatch merge = channel_pass(sink, p, g, "bwd_merge", coeffs, daffine.accumulate, "batchnorm bwd merge",
                                2.0 * double(g.slots()) + 10);
  merge.bindings = {{scratch, Access::read_write},
                    {affine, Access::read},
                    {saved, Access::read},
                    {daffine.tensor, daffine.access()}};
  sink.dispatch(std::move(merge));

  const char* dx_kernel = mask ? "bwd_dx_masked" : "bwd_dx";
  Dispatch dx_pass = row_walk_pass(sink, p, g, dx_kernel, coeffs, dx.accumulate, "batchnorm bwd dx" + fused, 6, relu);
  dx_pass.bindings = {{x, Access::read, g.rows_view()},
                      {dy, Access::read, g.rows_view()},
                      {scratch, Access::read},
                      {dx.tensor, dx.access()}};
  if (mask) {
    dx_pass.bindings.push_back({*mask, Access::read, g.rows_view()});
    dx_pass.bindings.push_back({dy, Access::write});
  }
  sink.dispatch(std::move(dx_pass));
}

}  // namespace

void batchnorm_train_forward(OpSink& sink, const BatchNormShape& p, TensorId x, TensorId affine,
                             TensorId running, TensorId saved, TensorId y, bool relu,
                             std::optional<TensorId> residual) {
  check_params(p, 2, "batchnorm_train_forward");
  const Geometry g = geometry(sink, p);
  const uint64_t coeffs = partials_floats(p, g);
  const TensorId scratch = op_scratch(sink, p, coeffs, kForwardCoeffRows, "batchnorm fwd scratch");

  Dispatch stats = row_walk_pass(sink, p, g, "stats", coeffs, false, "batchnorm fwd stats", 7);
  stats.bindings = {{x, Access::read, g.rows_view()}, {scratch, Access::write}};
  sink.dispatch(std::move(stats));

  Dispatch merge = channel_pass(sink, p, g, "stats_merge", coeffs, false, "batchnorm fwd merge",
                                10.0 * double(g.slots()) + 20);
  merge.bindings = {{scratch, Access::read_write},
                    {affine, Access::read},
                    {running, Access::read_write},
                    {saved, Access::write}};
  sink.dispatch(std::move(merge));

  apply(sink, p, g, coeffs, x, scratch, y, relu, residual, "batchnorm fwd apply");
}

void batchnorm_eval_forward(OpSink& sink, const BatchNormShape& p, TensorId x, TensorId affine,
                            TensorId running, TensorId y, bool relu, std::optional<TensorId> residual) {
  check_params(p, 1, "batchnorm_eval_forward");
  const Geometry g = geometry(sink, p);
  const TensorId scratch = op_scratch(sink, p, 0, kForwardCoeffRows, "batchnorm eval scratch");

  Dispatch coeffs = channel_pass(sink, p, g, "eval_coeffs", 0, false, "batchnorm eval coeffs", 3);
  coeffs.bindings = {{affine, Access::read}, {running, Access::read}, {scratch, Access::write}};
  sink.dispatch(std::move(coeffs));

  apply(sink, p, g, 0, x, scratch, y, relu, residual, "batchnorm eval apply");
}

void batchnorm_fold_into_conv(OpSink& sink, const BatchNormShape& p, uint64_t field, TensorId conv_weight,
                              TensorId affine, TensorId running, TensorId folded_w, TensorId folded_b) {
  check_params(p, 1, "batchnorm_fold_into_conv");
  VKRES_ASSERT(field >= 1 && field * uint64_t(p.c) <= UINT32_MAX, "batchnorm_fold_into_conv: weights past 32-bit indexing");
  for (const bool bias : {false, true}) {
    const uint64_t count = bias ? uint64_t(p.c) : field * uint64_t(p.c);
    Dispatch d = dispatch_1d(sink, "batchnorm_fold", count, bias ? "batchnorm fold bias" : "batchnorm fold weights");
    d.push = graph::PushConstants::of(push::BatchNormFoldPush{static_cast<uint32_t>(p.c), static_cast<uint32_t>(field),
                                                              bias, static_cast<float>(p.eps)});
    d.bindings = {{conv_weight, Access::read},
                  {affine, Access::read},
                  {running, Access::read},
                  {bias ? folded_b : folded_w, Access::write}};
    d.flops = 4.0 * double(count);
    sink.dispatch(std::move(d));
  }
}

void batchnorm_backward(OpSink& sink, const BatchNormShape& p, TensorId x, TensorId dy, TensorId affine,
                        TensorId saved, GradOut daffine, GradOut dx, bool relu) {
  check_params(p, 2, "batchnorm_backward");
  backward_passes(sink, p, geometry(sink, p), x, dy, affine, saved, daffine, dx, relu, std::nullopt);
}

void batchnorm_backward_residual_relu(OpSink& sink, const BatchNormShape& p, TensorId x, TensorId dy, TensorId y,
                                      TensorId affine, TensorId saved, GradOut daffine, GradOut dx) {
  check_params(p, 2, "batchnorm_backward_residual_relu");
  const Geometry g = geometry(sink, p);
  if (g.texels) return backward_passes(sink, p, g, x, dy, affine, saved, daffine, dx, false, y);
  relu_backward(sink, y, dy, {dy, false}, uint64_t(p.count) * uint64_t(p.c));
  backward_passes(sink, p, g, x, dy, affine, saved, daffine, dx, false, std::nullopt);
}

}  // namespace vkres::ops
