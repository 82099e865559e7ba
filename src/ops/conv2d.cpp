#include "ops/conv2d.hpp"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "core/error.hpp"
#include "ops/elementwise.hpp"  // add: the residual where the kernel cannot read it
#include "ops/winograd.hpp"
#include "push_conv2d.h"

namespace vkres::ops {
namespace {

// The default register tiles (GEMM rows x columns of one invocation). The filter gradient's lanes
// own 32 filter positions: on lavapipe the per-lane loads, not the arithmetic, bound the speed, and
// a wider tile feeds each load of dy to twice the multiply-adds (ResNet-20 shapes at batch 128:
// 9-20% less CPU time per pass). The autotuner may pick another tile per shape.
constexpr ConvVariant kDefaultTile{.tile_rows = 16, .tile_cols = 16};
constexpr ConvVariant kDefaultFilterTile{.tile_rows = 16, .tile_cols = 32};
// The other tiles it tries: larger ones for CPU drivers (fewer loads per multiply-add, longer JIT),
// smaller ones for GPUs, whose register files cannot hold 256 accumulators per lane.
constexpr std::pair<uint32_t, uint32_t> kOtherTiles[] = {{32, 16}, {16, 32}, {16, 16}, {8, 8}, {4, 4}};

// The shared-memory path's blocks, its default first: lane tile and lane grid. At most 128 lanes
// (every Vulkan device's minimum workgroup) and 8 KiB of staging, within every device's 16 KiB.
// Wide and narrow blocks for the narrow channel counts of CIFAR models and the filter gradient's
// many filter positions; an 8x8 lane tile for the large layers of the ImageNet models. As many as
// the other paths have tiles, so the autotuner's search is the same on every path.
constexpr ConvVariant kSharedBlocks[] = {
    {.path = ConvPath::shared, .tile_rows = 4, .tile_cols = 4, .lane_rows = 16, .lane_cols = 8},  // 64 x 32
    {.path = ConvPath::shared, .tile_rows = 4, .tile_cols = 4, .lane_rows = 8, .lane_cols = 8},   // 32 x 32
    {.path = ConvPath::shared, .tile_rows = 4, .tile_cols = 4, .lane_rows = 16, .lane_cols = 4},  // 64 x 16
    {.path = ConvPath::shared, .tile_rows = 4, .tile_cols = 4, .lane_rows = 8, .lane_cols = 16},  // 32 x 64
    {.path = ConvPath::shared, .tile_rows = 8, .tile_cols = 8, .lane_rows = 16, .lane_cols = 8},  // 128 x 64
};
// Reduction steps a shared block stages at once (shaders/include/conv2d_shared_tile.glsl): 8, or
// 4 where the reduction walks fewer than 8 channels per tap (the stem's 3), so fewer staged zeros.
constexpr uint32_t kSharedSteps = 8;
uint32_t shared_steps(int channels_per_tap) { return channels_per_tap < 8 ? 4 : kSharedSteps; }
// The outputs a shared block's workgroup owns.
uint32_t block_rows(const ConvVariant& v) { return v.lane_rows * v.tile_rows; }
uint32_t block_cols(const ConvVariant& v) { return v.lane_cols * v.tile_cols; }
// The staging and per-row or per-column bookkeeping of a block, in bytes.
uint64_t shared_bytes(const ConvVariant& v) {
  const uint64_t rows = block_rows(v), cols = block_cols(v);
  return (kSharedSteps * (rows + 1) + kSharedSteps * (cols + 1) + 3 * std::max(rows, cols)) * sizeof(float);
}

// Split-K (split_k): chunks long enough that writing the partial tile stays a small part of the
// work, and bounded scratch.
constexpr uint64_t kMinChunkRows = 256;
constexpr uint64_t kMaxScratchBytes = 32ull << 20;

// The texel variants load four channels at a time: the reduced and tiled channel counts must be
// multiples of 4 and every tensor they read must fit one texel view.
bool use_texels(const OpSink& sink, std::initializer_list<int> channel_counts,
                std::initializer_list<uint64_t> texel_read_counts) {
  for (int c : channel_counts)
    if (c % 4 != 0) return false;
  for (uint64_t floats : texel_read_counts)
    if (!texel_reads(sink, floats)) return false;
  return true;
}

void check_params(const Conv2dShape& p, const char* op) {
  VKRES_ASSERT(p.n > 0 && p.h > 0 && p.w > 0 && p.cin > 0 && p.cout > 0 && p.kh > 0 && p.kw > 0 &&
                   p.stride_h > 0 && p.stride_w > 0 && p.pad_h >= 0 && p.pad_w >= 0,
               fmt::format("{}: every size must be positive and padding non-negative", op));
  VKRES_ASSERT(p.h + 2 * p.pad_h >= p.kh && p.w + 2 * p.pad_w >= p.kw,
               fmt::format("{}: {}x{} kernel larger than the padded {}x{} input", op, p.kh, p.kw, p.h, p.w));
  const uint64_t largest = std::max({p.input_count(), p.weight_count(), p.output_count()});
  VKRES_ASSERT(largest <= INT32_MAX, fmt::format("{}: {} elements exceed the kernels' 32-bit indexing", op, largest));
}

std::string describe(const Conv2dShape& p) {
  const std::string stride =
      p.stride_h == p.stride_w ? fmt::format("{}", p.stride_h) : fmt::format("{}x{}", p.stride_h, p.stride_w);
  return fmt::format("{}x{}/s{} {}->{} on {}x{}x{}", p.kh, p.kw, stride, p.cin, p.cout, p.n, p.h, p.w);
}

// Whether the rgba32f texel variant of `pass` can read its operands on this device.
bool texels_possible(const OpSink& sink, ConvPass pass, const Conv2dShape& p) {
  const auto [a, b, out] = conv2d_operand_counts(pass, p);
  switch (pass) {
    case ConvPass::forward: return use_texels(sink, {p.cin}, {a, b});
    case ConvPass::backward_data:
    case ConvPass::backward_filter: return use_texels(sink, {p.cin, p.cout}, {a, b});
  }
  return false;
}

// Whether the r32f texel variant can: any channel counts, each operand within one view.
bool r32f_possible(const OpSink& sink, ConvPass pass, const Conv2dShape& p) {
  const auto [a, b, out] = conv2d_operand_counts(pass, p);
  return r32f_texel_reads(sink, a) && r32f_texel_reads(sink, b);
}

// The patch path unrolls a lane's whole reduction, kh * kw * cin steps, for every output channel:
// small receptive fields only, and few enough products per pixel that the JIT stays quick.
constexpr int kPatchMaxField = 32;
constexpr int kPatchMaxProducts = 1024;
constexpr std::pair<uint32_t, uint32_t> kPatchTiles[] = {{8, 4}, {4, 4}, {16, 4}, {8, 8}};

bool patch_possible(const OpSink& sink, ConvPass pass, const Conv2dShape& p) {
  const int field = p.kh * p.kw * p.cin;
  return pass == ConvPass::forward && field <= kPatchMaxField && field * p.cout <= kPatchMaxProducts &&
         r32f_texel_reads(sink, p.input_count());
}

// How a direct variant reads its operands, and the suffix of its kernel's name.
View operand_view(ConvPath path) {
  return path == ConvPath::texels ? View::texels_rgba32f : path == ConvPath::r32f ? View::texels_r32f : View::storage;
}
const char* kernel_suffix(ConvPath path) {
  switch (path) {
    case ConvPath::texels: return "_texels";
    case ConvPath::r32f: return "_r32f";
    case ConvPath::shared: return "_shared";
    case ConvPath::patch: return "_patch";
    default: return "";
  }
}

push::Conv2dPush shape_push(const Conv2dShape& p) {
  push::Conv2dPush pc{};
  pc.n = p.n;
  pc.h = p.h;
  pc.w = p.w;
  pc.cin = p.cin;
  pc.cout = p.cout;
  pc.kh = p.kh;
  pc.kw = p.kw;
  pc.stride_h = p.stride_h;
  pc.stride_w = p.stride_w;
  pc.pad_h = p.pad_h;
  pc.pad_w = p.pad_w;
  pc.oh = p.oh();
  pc.ow = p.ow();
  return pc;
}

// Lanes per workgroup of the convolution kernels: a whole number of subgroups everywhere we have seen.
uint32_t conv_local_size(const OpSink& sink) { return elementwise_local_size(sink.limits()); }

// A dispatch of one of the convolution kernels over `groups` workgroups of `local` lanes.
Dispatch conv_dispatch(uint32_t local, const ConvVariant& v, const char* kernel, const push::Conv2dPush& pc,
                       uint64_t groups, const OpSink& sink, std::string label) {
  Dispatch d;
  d.kernel = std::string(kernel) + kernel_suffix(v.path);
  d.spec = {local, v.tile_rows, v.tile_cols};
  d.push = graph::PushConstants::of(pc);
  d.groups = graph::grid_1d(groups, sink.limits());
  d.label = fmt::format("{} [{}]", label, v.name());
  return d;
}

uint64_t output_pixels(const Conv2dShape& p) { return uint64_t(p.n) * p.oh() * p.ow(); }

// The second pass of a split-K reduction: dst (=|+=) the chunks of `partials` summed in order.
void sum_chunks(OpSink& sink, TensorId partials, uint32_t chunks, uint64_t count, GradOut dst, std::string label) {
  Dispatch d = dispatch_1d(sink, "conv2d_sum_chunks", count, std::move(label));
  d.push = graph::PushConstants::of(
      push::ChunkSumPush{static_cast<uint32_t>(count), chunks, static_cast<uint32_t>(dst.accumulate)});
  d.bindings = {{partials, Access::read}, {dst.tensor, dst.access()}};
  d.flops = double(count) * chunks;
  sink.dispatch(std::move(d));
}

// A linear layer is a 1x1 convolution of n 1x1 images: x [n][in] is NHWC, w [out][in] is OHWI.
Conv2dShape linear_as_conv(int n, int in, int out) { return {.n = n, .cin = in, .cout = out}; }

// Whether `v`'s kernel applies `e` in its store: ReLU on every path; the residual
// (shaders/include/conv2d_epilogue.glsl) on the texels, patch and Winograd paths, where four output
// channels make a texel (their vec4 stores) and it fits one rgba32f view.
bool epilogue_fused(const OpSink& sink, const ConvVariant& v, const Conv2dShape& p, const ConvEpilogue& e) {
  if (!e.residual) return true;
  const bool reads_residual = v.path == ConvPath::texels || v.path == ConvPath::patch || is_winograd(v.path);
  return reads_residual && p.cout % 4 == 0 && texel_reads(sink, p.output_count());
}

void set_epilogue(push::Conv2dPush& pc, const ConvEpilogue& e) {
  pc.has_residual = e.residual.has_value();
  pc.relu = e.relu;
}

// conv2d_fwd_patch.comp: one lane per TILE_ROWS adjacent output pixels of a row, all output
// channels; the shape of the reduction is baked into the pipeline.
void patch_forward(OpSink& sink, const Conv2dShape& p, const ConvVariant& v, TensorId x, TensorId w,
                   std::optional<TensorId> bias, TensorId y, const ConvEpilogue& epilogue) {
  VKRES_ASSERT(v.tile_cols % 4 == 0, "patch_forward: the residual is read four output channels at a time");
  push::Conv2dPush pc = shape_push(p);
  pc.has_bias = bias.has_value();
  set_epilogue(pc, epilogue);
  const uint64_t lanes = uint64_t(p.n) * p.oh() * graph::ceil_div(p.ow(), v.tile_rows);
  const uint32_t local = gemm_rows_local_size(sink, lanes, 1);
  Dispatch d = conv_dispatch(local, v, "conv2d_fwd", pc, graph::ceil_div(lanes, local), sink, "conv2d fwd " + describe(p));
  d.spec.insert(d.spec.end(), {uint32_t(p.kh), uint32_t(p.kw), uint32_t(p.cin), uint32_t(p.cout), uint32_t(p.stride_w)});
  d.bindings = {{x, Access::read, View::texels_r32f}, {w, Access::read}, {bias.value_or(w), Access::read},
                {y, Access::write}, conv_residual_binding(epilogue, {x, Access::read, View::texels_r32f})};
  d.flops = 2 * p.macs();
  sink.dispatch(std::move(d));
}

}  // namespace

graph::Binding conv_residual_binding(const ConvEpilogue& e, graph::Binding unused) {
  return e.residual ? graph::Binding{*e.residual, Access::read, View::texels_rgba32f} : unused;
}

const char* conv_pass_name(ConvPass pass) {
  switch (pass) {
    case ConvPass::forward: return "conv2d_fwd";
    case ConvPass::backward_data: return "conv2d_bwd_data";
    case ConvPass::backward_filter: return "conv2d_bwd_filter";
  }
  return "?";
}

ConvOperandCounts conv2d_operand_counts(ConvPass pass, const Conv2dShape& p) {
  switch (pass) {
    case ConvPass::forward: return {p.input_count(), p.weight_count(), p.output_count()};
    case ConvPass::backward_data: return {p.output_count(), p.weight_count(), p.input_count()};
    case ConvPass::backward_filter: return {p.input_count(), p.output_count(), p.weight_count()};
  }
  return {};
}

bool is_winograd(ConvPath path) { return path == ConvPath::winograd2 || path == ConvPath::winograd4; }

ConvVariant conv2d_default_tile(ConvPass pass) {
  return pass == ConvPass::backward_filter ? kDefaultFilterTile : kDefaultTile;
}

SplitK split_k(const OpSink& sink, uint64_t rows, uint64_t invocations_per_chunk, uint64_t partials_per_chunk) {
  const uint64_t scratch_cap = std::min<uint64_t>(kMaxScratchBytes, sink.limits().max_storage_buffer_range);
  const uint64_t max_chunks = std::max<uint64_t>(1, scratch_cap / (partials_per_chunk * sizeof(float)));
  const uint64_t wanted = graph::ceil_div(sink.limits().busy_invocations, invocations_per_chunk);
  const uint64_t chunks = std::clamp<uint64_t>(wanted, 1, std::min(max_chunks, graph::ceil_div(rows, kMinChunkRows)));
  SplitK s;
  s.chunk_rows = static_cast<uint32_t>(graph::ceil_div(rows, chunks));
  s.chunks = static_cast<uint32_t>(graph::ceil_div(rows, s.chunk_rows));
  VKRES_ASSERT(uint64_t(s.chunks) * partials_per_chunk * sizeof(float) <= sink.limits().max_storage_buffer_range,
               fmt::format("{} partial sums per chunk do not fit one storage buffer", partials_per_chunk));
  return s;
}

std::string ConvVariant::name() const {
  const char* names[] = {"texels", "r32f", "storage", "winograd2", "winograd4", "shared", "patch"};
  if (path == ConvPath::shared)
    return fmt::format("shared {}x{}/{}x{}", block_rows(*this), block_cols(*this), tile_rows, tile_cols);
  return fmt::format("{} {}x{}", names[static_cast<int>(path)], tile_rows, tile_cols);
}

std::vector<ConvVariant> conv2d_variants(const OpSink& sink, ConvPass pass, const Conv2dShape& p) {
  std::vector<ConvVariant> out;
  // Each path's tiles, its default first (the autotuner times that one against the other paths').
  const auto add_path = [&](ConvPath path) {
    // The Winograd filter gradient's GEMM is cout x cin, often 16 wide: the square tile first.
    const bool square_first = pass == ConvPass::backward_filter && is_winograd(path);
    const ConvVariant first = square_first ? kDefaultTile : conv2d_default_tile(pass);
    out.push_back({.path = path, .tile_rows = first.tile_rows, .tile_cols = first.tile_cols});
    for (auto [rows, cols] : kOtherTiles)
      if (rows != first.tile_rows || cols != first.tile_cols)
        out.push_back({.path = path, .tile_rows = rows, .tile_cols = cols});
  };
  // The texel variants first where possible: several times faster on CPU drivers, the default;
  // r32f views (one float per fetch) where rgba32f ones cannot serve, as for the stem's cin = 3.
  if (texels_possible(sink, pass, p)) add_path(ConvPath::texels);
  else if (r32f_possible(sink, pass, p)) add_path(ConvPath::r32f);
  add_path(ConvPath::storage);
  if (winograd_enabled())
    for (ConvPath path : {ConvPath::winograd2, ConvPath::winograd4})
      if (winograd_possible(sink, pass, p, path)) add_path(path);
  if (patch_possible(sink, pass, p))
    for (auto [rows, cols] : kPatchTiles) out.push_back({.path = ConvPath::patch, .tile_rows = rows, .tile_cols = cols});
  for (const ConvVariant& v : kSharedBlocks)
    if (v.lane_rows * v.lane_cols <= sink.limits().max_workgroup_invocations &&
        v.lane_cols <= sink.limits().max_workgroup_size[0] && shared_bytes(v) <= sink.limits().max_shared_memory)
      out.push_back(v);
  return out;
}

std::vector<ConvVariant> conv2d_candidates(const OpSink& sink, ConvPass pass, const Conv2dShape& p) {
  std::vector<ConvVariant> out = conv2d_variants(sink, pass, p);
  if (sink.limits().cpu_driver) std::erase_if(out, [](const ConvVariant& v) { return v.path == ConvPath::shared; });
  return out;
}

std::string conv2d_tuning_key(ConvPass pass, const Conv2dShape& p) {
  return fmt::format("{} {}x{}/s{}x{}/p{}x{} {}->{} on {}x{}x{}", conv_pass_name(pass), p.kh, p.kw, p.stride_h,
                     p.stride_w, p.pad_h, p.pad_w, p.cin, p.cout, p.n, p.h, p.w);
}

std::string conv2d_training_forward_key(const Conv2dShape& p) {
  return "conv2d_fwd_training" + conv2d_tuning_key(ConvPass::forward, p).substr(std::strlen("conv2d_fwd"));
}

namespace {

std::optional<ConvVariant> choice_under(const OpSink& sink, const std::vector<ConvVariant>& variants,
                                        const std::string& key) {
  if (const vk::KernelChoices* choices = sink.kernel_choices())
    if (auto it = choices->find(key); it != choices->end())
      for (const ConvVariant& v : variants)
        if (v.name() == it->second) return v;
  return std::nullopt;
}

}  // namespace

ConvVariant conv2d_chosen_variant(const OpSink& sink, ConvPass pass, const Conv2dShape& p) {
  const std::vector<ConvVariant> variants = conv2d_variants(sink, pass, p);
  if (pass == ConvPass::forward && sink.builds_training())
    if (const auto paired = choice_under(sink, variants, conv2d_training_forward_key(p));
        paired && is_winograd(paired->path) &&
        conv2d_chosen_variant(sink, ConvPass::backward_filter, p).path == paired->path)
      return *paired;
  return choice_under(sink, variants, conv2d_tuning_key(pass, p)).value_or(variants.front());
}

uint64_t conv2d_kept_input_bytes(const OpSink& sink, const Conv2dShape& p) {
  const ConvPath path = conv2d_chosen_variant(sink, ConvPass::forward, p).path;
  if (!is_winograd(path) || conv2d_chosen_variant(sink, ConvPass::backward_filter, p).path != path) return 0;
  return winograd_input_floats(p, path) * sizeof(float);
}

void conv2d_forward(OpSink& sink, const Conv2dShape& p, TensorId x, TensorId w, std::optional<TensorId> bias,
                    TensorId y, const ConvEpilogue& epilogue, std::optional<TensorId> kept_input) {
  check_params(p, "conv2d_forward");
  const ConvVariant v = conv2d_chosen_variant(sink, ConvPass::forward, p);
  VKRES_ASSERT(!kept_input || conv2d_kept_input_bytes(sink, p) > 0,
               "conv2d_forward: " + describe(p) + " keeps nothing for its filter gradient");
  if (!epilogue_fused(sink, v, p, epilogue)) {
    const uint64_t count = p.output_count();
    const TensorId raw = sink.scratch(count * sizeof(float), "conv2d fwd before its epilogue");
    conv2d_forward(sink, p, x, w, bias, raw, {}, kept_input);
    return add(sink, raw, *epilogue.residual, {y}, count, epilogue.relu);
  }
  if (is_winograd(v.path)) return winograd_forward(sink, p, v, x, w, bias, y, epilogue, kept_input);
  if (v.path == ConvPath::patch) return patch_forward(sink, p, v, x, w, bias, y, epilogue);
  const bool shared = v.path == ConvPath::shared;
  const uint32_t local = shared ? v.lane_rows * v.lane_cols : gemm_rows_local_size(sink, output_pixels(p), v.tile_rows);
  const uint32_t rows = shared ? block_rows(v) : local * v.tile_rows, cols = shared ? block_cols(v) : v.tile_cols;
  push::Conv2dPush pc = shape_push(p);
  pc.channel_tiles = static_cast<uint32_t>(graph::ceil_div(p.cout, cols));
  pc.has_bias = bias.has_value();
  set_epilogue(pc, epilogue);
  const uint64_t pixel_tiles = graph::ceil_div(output_pixels(p), rows);

  const View view = operand_view(v.path);
  Dispatch d = conv_dispatch(local, v, "conv2d_fwd", pc, pixel_tiles * pc.channel_tiles, sink,
                             "conv2d fwd " + describe(p));
  if (v.path == ConvPath::texels) d.spec.push_back(p.cout % 4 == 0);  // VEC4_STORES
  if (shared) d.spec.insert(d.spec.end(), {v.lane_cols, shared_steps(p.cin)});
  d.bindings = {{x, Access::read, view}, {w, Access::read, view}, {bias.value_or(w), Access::read}, {y, Access::write}};
  if (v.path == ConvPath::texels) d.bindings.push_back(conv_residual_binding(epilogue, d.bindings[0]));
  d.flops = 2 * p.macs();
  sink.dispatch(std::move(d));
}

void conv2d_backward_data(OpSink& sink, const Conv2dShape& p, TensorId dy, TensorId w, GradOut dx) {
  check_params(p, "conv2d_backward_data");
  // Pixels of the largest stride phase; every phase gets that many rows.
  const uint64_t phase_pixels = uint64_t(p.n) * graph::ceil_div(p.h, p.stride_h) * graph::ceil_div(p.w, p.stride_w);
  const ConvVariant v = conv2d_chosen_variant(sink, ConvPass::backward_data, p);
  if (is_winograd(v.path)) return winograd_backward_data(sink, p, v, dy, w, dx);
  const bool shared = v.path == ConvPath::shared;
  const uint32_t local = shared ? v.lane_rows * v.lane_cols : gemm_rows_local_size(sink, phase_pixels, v.tile_rows);
  const uint32_t rows = shared ? block_rows(v) : local * v.tile_rows, cols = shared ? block_cols(v) : v.tile_cols;
  const uint64_t phases = uint64_t(p.stride_h) * p.stride_w;
  push::Conv2dPush pc = shape_push(p);
  pc.channel_tiles = static_cast<uint32_t>(graph::ceil_div(p.cin, cols));
  pc.pixel_tiles = static_cast<uint32_t>(graph::ceil_div(phase_pixels, rows));
  pc.accumulate = dx.accumulate;

  const View view = operand_view(v.path);
  Dispatch d = conv_dispatch(local, v, "conv2d_bwd_data", pc, phases * pc.pixel_tiles * pc.channel_tiles, sink,
                             "conv2d bwd data " + describe(p));
  if (shared) d.spec.insert(d.spec.end(), {v.lane_cols, shared_steps(p.cout)});
  d.bindings = {{dy, Access::read, view}, {w, Access::read, view}, {dx.tensor, dx.access()}};
  d.flops = 2 * p.macs();
  sink.dispatch(std::move(d));
}

void conv2d_backward_filter(OpSink& sink, const Conv2dShape& p, TensorId x, TensorId dy, GradOut dw,
                            std::optional<TensorId> kept_input) {
  check_params(p, "conv2d_backward_filter");
  const ConvVariant v = conv2d_chosen_variant(sink, ConvPass::backward_filter, p);
  VKRES_ASSERT(!kept_input || conv2d_kept_input_bytes(sink, p) > 0,
               "conv2d_backward_filter: " + describe(p) + " has nothing kept by its forward pass");
  if (is_winograd(v.path)) return winograd_backward_filter(sink, p, v, x, dy, dw, kept_input);
  const bool shared = v.path == ConvPath::shared;
  const uint32_t local = shared ? v.lane_rows * v.lane_cols : conv_local_size(sink);
  const uint64_t filter_size = uint64_t(p.kh) * p.kw * p.cin;
  const auto tiles_of = [&](const ConvVariant& t) {  // a shared block's, or one lane's register tile
    const bool block = t.path == ConvPath::shared;
    return graph::ceil_div(p.cout, block ? block_rows(t) : t.tile_rows) *
           graph::ceil_div(filter_size, block ? block_cols(t) : t.tile_cols);
  };
  // The chunks follow the default tile whatever the variant: they fix the order of the sums.
  const SplitK split = split_k(sink, output_pixels(p), tiles_of(kDefaultFilterTile), p.weight_count());
  const uint64_t tiles = tiles_of(v);
  const TensorId partials = sink.scratch(uint64_t(split.chunks) * p.weight_count() * sizeof(float), "conv2d dw partials");
  push::Conv2dPush pc = shape_push(p);
  pc.chunk_pixels = split.chunk_rows;
  pc.chunks = split.chunks;

  const View view = operand_view(v.path);
  // A shared block is a workgroup; a register tile is one lane.
  const uint64_t groups = shared ? tiles * split.chunks : graph::ceil_div(tiles * split.chunks, local);
  Dispatch d = conv_dispatch(local, v, "conv2d_bwd_filter", pc, groups, sink,
                             fmt::format("conv2d bwd filter {} ({} chunks)", describe(p), split.chunks));
  if (shared) d.spec.insert(d.spec.end(), {v.lane_cols, kSharedSteps});
  d.bindings = {{x, Access::read, view}, {dy, Access::read, view}, {partials, Access::write}};
  d.flops = 2 * p.macs();
  sink.dispatch(std::move(d));
  sum_chunks(sink, partials, split.chunks, p.weight_count(), dw, "conv2d bwd filter sum " + describe(p));
}

void conv2d_backward_bias(OpSink& sink, const Conv2dShape& p, TensorId dy, GradOut db) {
  check_params(p, "conv2d_backward_bias");
  const uint32_t local = conv_local_size(sink);
  const SplitK split = split_k(sink, output_pixels(p), p.cout, p.cout);
  const TensorId partials = sink.scratch(uint64_t(split.chunks) * p.cout * sizeof(float), "conv2d db partials");
  push::Conv2dPush pc = shape_push(p);
  pc.chunk_pixels = split.chunk_rows;
  pc.chunks = split.chunks;

  Dispatch d;
  d.kernel = "conv2d_bwd_bias";
  d.spec = {local};
  d.push = graph::PushConstants::of(pc);
  d.groups = graph::grid_1d(graph::ceil_div(uint64_t(split.chunks) * p.cout, local), sink.limits());
  d.label = fmt::format("conv2d bwd bias {} ({} chunks)", describe(p), split.chunks);
  d.bindings = {{dy, Access::read}, {partials, Access::write}};
  d.flops = double(output_pixels(p)) * p.cout;
  sink.dispatch(std::move(d));
  sum_chunks(sink, partials, split.chunks, p.cout, db, "conv2d bwd bias sum " + describe(p));
}

void linear_forward(OpSink& sink, int n, int in, int out, TensorId x, TensorId w, std::optional<TensorId> bias,
                    TensorId y) {
  conv2d_forward(sink, linear_as_conv(n, in, out), x, w, bias, y);
}

void linear_backward_data(OpSink& sink, int n, int in, int out, TensorId dy, TensorId w, GradOut dx) {
  conv2d_backward_data(sink, linear_as_conv(n, in, out), dy, w, dx);
}

void linear_backward_weight(OpSink& sink, int n, int in, int out, TensorId x, TensorId dy, GradOut dw) {
  conv2d_backward_filter(sink, linear_as_conv(n, in, out), x, dy, dw);
}

void linear_backward_bias(OpSink& sink, int n, int out, TensorId dy, GradOut db) {
  conv2d_backward_bias(sink, linear_as_conv(n, 1, out), dy, db);
}

}  // namespace vkres::ops
