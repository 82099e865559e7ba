#include "ops/winograd.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "core/error.hpp"
#include "push_winograd.h"

namespace vkres::ops {
namespace {

// The 3x3 stride-1 convolution that the kernels compute, x [n][h][w][cin] -> y [n][oh][ow][cout], in
// m x m output tiles.
struct Transformed {
  push::WinogradPush pc{};
  int m = 2;  // output tile size
  uint64_t tiles = 0;
  uint64_t positions() const { return uint64_t(m + 2) * (m + 2); }
  uint64_t v_floats() const { return positions() * tiles * uint64_t(pc.cin); }
  uint64_t m_floats() const { return positions() * tiles * uint64_t(pc.cout); }
  uint64_t u_floats() const { return positions() * uint64_t(pc.cout) * uint64_t(pc.cin); }
  uint64_t e_floats() const { return m_floats(); }  // the filter gradient's transformed dy
  // The transform kernels' names: winograd2_filter, winograd4_input_texels, ...
  std::string kernel(const char* stage) const { return fmt::format("winograd{}_{}", m, stage); }
};

// The forward pass and the filter gradient as they are; the data gradient as the convolution of
// dy [n][oh][ow][cout], padded by 2 - pad, with the rotated filter, into dx [n][h][w][cin].
Transformed transformed(ConvPass pass, const Conv2dShape& p, ConvPath path) {
  Transformed t;
  t.m = path == ConvPath::winograd4 ? 4 : 2;
  push::WinogradPush& pc = t.pc;
  pc.n = p.n;
  if (pass != ConvPass::backward_data) {
    pc.h = p.h, pc.w = p.w, pc.cin = p.cin, pc.cout = p.cout, pc.pad_h = p.pad_h, pc.pad_w = p.pad_w;
  } else {
    pc.h = p.oh(), pc.w = p.ow(), pc.cin = p.cout, pc.cout = p.cin, pc.pad_h = 2 - p.pad_h, pc.pad_w = 2 - p.pad_w;
    pc.transposed = 1;
  }
  pc.oh = pc.h + 2 * pc.pad_h - 2;
  pc.ow = pc.w + 2 * pc.pad_w - 2;
  pc.tiles_h = (pc.oh + t.m - 1) / t.m;
  pc.tiles_w = (pc.ow + t.m - 1) / t.m;
  t.tiles = uint64_t(pc.n) * pc.tiles_h * pc.tiles_w;
  pc.tiles = int(std::min<uint64_t>(t.tiles, INT32_MAX));
  pc.positions = int(t.positions());
  return t;
}

std::string describe(const Transformed& t) {
  return fmt::format("{}->{} on {}x{}x{} pad {}x{}", t.pc.cin, t.pc.cout, t.pc.n, t.pc.h, t.pc.w, t.pc.pad_h,
                     t.pc.pad_w);
}

// v = B^T d B of every input patch of x.
void input_transform(OpSink& sink, const Transformed& t, TensorId x, TensorId vt, const std::string& label) {
  Dispatch input = dispatch_1d(sink, t.kernel("input_texels"), t.tiles * (t.pc.cin / 4), label + " input");
  input.push = graph::PushConstants::of(t.pc);
  input.bindings = {{x, Access::read, View::texels_rgba32f}, {vt, Access::write}};
  input.flops = 2.0 * double(t.positions()) * (t.m + 2) * double(t.tiles) * t.pc.cin;
  sink.dispatch(std::move(input));
}

// kept_v: the input transform goes there, for the filter gradient to read, instead of to scratch.
void run(OpSink& sink, Transformed t, const ConvVariant& v, TensorId x, TensorId w, std::optional<TensorId> bias,
         GradOut y, const char* what, const ConvEpilogue& epilogue = {}, std::optional<TensorId> kept_v = {}) {
  VKRES_ASSERT(!(epilogue.any() && y.accumulate), "winograd: an epilogue on an accumulated output");
  push::WinogradPush& pc = t.pc;
  pc.has_bias = bias.has_value();
  pc.accumulate = y.accumulate;
  pc.has_residual = epilogue.residual.has_value();
  pc.relu = epilogue.relu;
  // "conv2d fwd ..." and "conv2d bwd data ...", as the direct kernels' labels begin (vkres bench
  // sums its profile by these prefixes).
  const std::string label = fmt::format("conv2d {} {} winograd F({}x{}) [{}]", what, describe(t), t.m, t.m, v.name());
  const TensorId u = sink.scratch(t.u_floats() * sizeof(float), "winograd u");
  const TensorId vt = kept_v ? *kept_v : sink.scratch(t.v_floats() * sizeof(float), "winograd v");
  const TensorId m = sink.scratch(t.m_floats() * sizeof(float), "winograd m");

  const double positions = double(t.positions());
  Dispatch filter = dispatch_1d(sink, t.kernel("filter"), uint64_t(pc.cout) * pc.cin, label + " filter");
  filter.push = graph::PushConstants::of(pc);
  filter.bindings = {{w, Access::read}, {u, Access::write}};
  filter.flops = 4.0 * positions * pc.cout * pc.cin;
  sink.dispatch(std::move(filter));

  input_transform(sink, t, x, vt, label);

  const uint32_t local = gemm_rows_local_size(sink, t.tiles, v.tile_rows);
  pc.channel_tiles = static_cast<uint32_t>(graph::ceil_div(pc.cout, v.tile_cols));
  pc.row_groups = static_cast<uint32_t>(graph::ceil_div(t.tiles, uint64_t(local) * v.tile_rows));
  Dispatch gemm;
  gemm.kernel = "winograd_gemm_texels";
  gemm.spec = {local, v.tile_rows, v.tile_cols};
  gemm.push = graph::PushConstants::of(pc);
  gemm.groups = graph::grid_1d(t.positions() * pc.row_groups * pc.channel_tiles, sink.limits());
  gemm.label = label + " gemm";
  gemm.bindings = {
      {vt, Access::read, View::texels_rgba32f}, {u, Access::read, View::texels_rgba32f}, {m, Access::write}};
  gemm.flops = 2.0 * positions * t.tiles * pc.cin * pc.cout;
  sink.dispatch(std::move(gemm));

  Dispatch output = dispatch_1d(sink, t.kernel("output_texels"), t.tiles * (pc.cout / 4), label + " output");
  output.push = graph::PushConstants::of(pc);
  output.bindings = {{m, Access::read, View::texels_rgba32f},
                    {bias.value_or(m), Access::read},
                    {y.tensor, y.access()},
                    conv_residual_binding(epilogue, {m, Access::read, View::texels_rgba32f})};
  output.flops = 2.0 * (positions * t.m + t.m * t.m * (t.m + 2)) * t.tiles * pc.cout;
  sink.dispatch(std::move(output));
}

}  // namespace

bool winograd_enabled() {
  const char* value = std::getenv("VKRES_WINOGRAD");
  if (!value || !*value || std::string_view(value) == "on") return true;
  if (std::string_view(value) == "off") return false;
  throw Error(fmt::format("VKRES_WINOGRAD: '{}' is neither 'on' nor 'off'", value));
}

bool winograd_possible(const OpSink& sink, ConvPass pass, const Conv2dShape& p, ConvPath path) {
  if (!is_winograd(path)) return false;
  if (p.kh != 3 || p.kw != 3 || p.stride_h != 1 || p.stride_w != 1) return false;
  if (pass == ConvPass::backward_data && (p.pad_h > 2 || p.pad_w > 2)) return false;
  if (p.cin % 4 != 0 || p.cout % 4 != 0) return false;
  const Transformed t = transformed(pass, p, path);
  if (t.pc.oh < 1 || t.pc.ow < 1) return false;
  const uint64_t x_floats = uint64_t(t.pc.n) * t.pc.h * t.pc.w * t.pc.cin;
  // Also keeps every float index of the kernels below 2^30, within their 32-bit arithmetic.
  const uint64_t max_range = sink.limits().max_storage_buffer_range / sizeof(float);
  for (uint64_t floats : {t.v_floats(), t.m_floats(), t.u_floats()})
    if (floats > max_range) return false;
  for (uint64_t floats : {x_floats, t.v_floats(), t.m_floats(), t.u_floats()})
    if (!texel_reads(sink, floats)) return false;
  // The filter gradient also reads dy; one chunk's partial sums are as large as u.
  const uint64_t y_floats = uint64_t(t.pc.n) * t.pc.oh * t.pc.ow * t.pc.cout;
  if (pass == ConvPass::backward_filter && !texel_reads(sink, y_floats)) return false;
  return true;
}

void winograd_forward(OpSink& sink, const Conv2dShape& p, const ConvVariant& v, TensorId x, TensorId w,
                      std::optional<TensorId> bias, TensorId y, const ConvEpilogue& epilogue,
                      std::optional<TensorId> kept_v) {
  VKRES_ASSERT(winograd_possible(sink, ConvPass::forward, p, v.path), "winograd_forward: not a shape it can run");
  run(sink, transformed(ConvPass::forward, p, v.path), v, x, w, bias, {y}, "fwd", epilogue, kept_v);
}

void winograd_backward_data(OpSink& sink, const Conv2dShape& p, const ConvVariant& v, TensorId dy, TensorId w,
                            GradOut dx) {
  VKRES_ASSERT(winograd_possible(sink, ConvPass::backward_data, p, v.path),
               "winograd_backward_data: not a shape it can run");
  run(sink, transformed(ConvPass::backward_data, p, v.path), v, dy, w, std::nullopt, dx, "bwd data");
}

uint64_t winograd_input_floats(const Conv2dShape& p, ConvPath path) {
  return transformed(ConvPass::forward, p, path).v_floats();
}

void winograd_backward_filter(OpSink& sink, const Conv2dShape& p, const ConvVariant& v, TensorId x, TensorId dy,
                              GradOut dw, std::optional<TensorId> kept_v) {
  VKRES_ASSERT(winograd_possible(sink, ConvPass::backward_filter, p, v.path),
               "winograd_backward_filter: not a shape it can run");
  Transformed t = transformed(ConvPass::backward_filter, p, v.path);
  push::WinogradPush& pc = t.pc;
  pc.accumulate = dw.accumulate;
  const std::string label = fmt::format("conv2d bwd filter {} winograd F({}x{}) [{}]", describe(t), t.m, t.m, v.name());
  const auto blocks = [&](const ConvVariant& tile) {
    return graph::ceil_div(pc.cout, tile.tile_rows) * graph::ceil_div(pc.cin, tile.tile_cols);
  };
  // The chunks follow the default tile whatever the variant's, as the direct kernels' do.
  const SplitK split =
      split_k(sink, t.tiles, t.positions() * blocks(conv2d_default_tile(ConvPass::backward_filter)), t.u_floats());
  pc.chunk_tiles = split.chunk_rows;
  pc.chunks = split.chunks;
  const TensorId vt = kept_v ? *kept_v : sink.scratch(t.v_floats() * sizeof(float), "winograd v");
  const TensorId e = sink.scratch(t.e_floats() * sizeof(float), "winograd e");
  const TensorId partials = sink.scratch(uint64_t(split.chunks) * t.u_floats() * sizeof(float), "winograd dw partials");

  if (!kept_v) input_transform(sink, t, x, vt, label);

  const double positions = double(t.positions());
  Dispatch transform = dispatch_1d(sink, t.kernel("dy_texels"), t.tiles * (pc.cout / 4), label + " dy");
  transform.push = graph::PushConstants::of(pc);
  transform.bindings = {{dy, Access::read, View::texels_rgba32f}, {e, Access::write}};
  transform.flops = 2.0 * positions * t.m * double(t.tiles) * pc.cout;
  sink.dispatch(std::move(transform));

  const uint32_t local = elementwise_local_size(sink.limits());
  Dispatch gemm;
  gemm.kernel = "winograd_gemm_filter_texels";
  gemm.spec = {local, v.tile_rows, v.tile_cols};
  gemm.push = graph::PushConstants::of(pc);
  const uint64_t invocations = uint64_t(split.chunks) * t.positions() * blocks(v);
  gemm.groups = graph::grid_1d(graph::ceil_div(invocations, local), sink.limits());
  gemm.label = fmt::format("{} gemm ({} chunks)", label, split.chunks);
  gemm.bindings = {
      {e, Access::read, View::texels_rgba32f}, {vt, Access::read, View::texels_rgba32f}, {partials, Access::write}};
  gemm.flops = 2.0 * positions * double(t.tiles) * pc.cin * pc.cout;
  sink.dispatch(std::move(gemm));

  Dispatch out = dispatch_1d(sink, t.kernel("filter_grad"), uint64_t(pc.cout) * (pc.cin / 4), label + " dw");
  out.push = graph::PushConstants::of(pc);
  out.bindings = {{partials, Access::read}, {dw.tensor, dw.access()}};
  out.flops = (positions * split.chunks + 2.0 * 3 * (positions + 3 * (t.m + 2))) * pc.cout * pc.cin;
  sink.dispatch(std::move(out));
}

}  // namespace vkres::ops
