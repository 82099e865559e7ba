// Convolutions (NHWC activations, OHWI weights [cout][kh][kw][cin]) and fully connected layers.
//
// Every pass is an implicit GEMM, register-blocked (shaders/include/gemm_tile.glsl) or tiled in
// shared memory (shaders/include/conv2d_shared_tile.glsl):
//   forward      rows = output pixels, columns = cout, reduction over (ky, kx, cin)
//   data grad    rows = input pixels of one stride phase, columns = cin, reduction over (ky, kx, cout)
//   filter grad  rows = cout, columns = flattened filter positions (ky, kx, cin), reduction over
//                output pixels split into chunks (split-K) whose partial sums a second pass adds
//                up in a fixed order; the bias gradient sums dy the same way
// A linear layer is a 1x1 convolution of n 1x1 images.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ops/common.hpp"

namespace vkres::ops {

// The three GEMM passes of a convolution: each is a tunable kernel (src/tune).
enum class ConvPass { forward, backward_data, backward_filter };
const char* conv_pass_name(ConvPass pass);  // conv2d_fwd, conv2d_bwd_data, conv2d_bwd_filter

// How a variant computes a pass: the direct implicit GEMM with its operands read through rgba32f
// texel views (channel counts multiples of 4), r32f texel views (any channel count: the stem) or
// storage buffers (the same products in the same order, so the same bits), or
// Winograd F(2x2, 3x3) or F(4x4, 3x3) (ops/winograd.hpp: every pass of a 3x3 stride-1 convolution;
// 2.25x or 4x fewer multiplies, results that differ from the direct ones by rounding), or the
// direct GEMM tiled in shared memory for GPUs (storage loads staged once per workgroup, small
// register tiles; the same products in the same order as the other direct paths, so the same bits),
// or, for the forward pass of a small receptive field (the stem's 3x3x3), each lane's receptive
// fields gathered once and the weights at offsets fixed per pipeline (conv2d_fwd_patch.comp: the
// same products in the same order, so the same bits).
enum class ConvPath { texels, r32f, storage, winograd2, winograd4, shared, patch };
bool is_winograd(ConvPath path);

// One way to run a pass: a path and the register tile of one invocation in GEMM rows x columns
// (specialization constants 1 and 2; for Winograd, the tile of its batched GEMM). The shared path
// also lays its workgroup's lanes out as a grid, lane_rows x lane_cols, each lane owning a register
// tile of the block of lane_rows * tile_rows by lane_cols * tile_cols outputs.
struct ConvVariant {
  ConvPath path = ConvPath::storage;
  uint32_t tile_rows = 16, tile_cols = 16;
  uint32_t lane_rows = 0, lane_cols = 0;  // the shared path's lane grid; 0 on the others
  // "texels 16x16", "storage 8x8", "winograd4 16x16"; "shared 64x32/4x4" (block / lane tile)
  std::string name() const;
  bool operator==(const ConvVariant&) const = default;
};

// The register tile of `pass`'s default variant; the filter gradient's split-K follows it whatever
// the variant, so that the chunks and the order of the sums depend on the shape and device alone.
ConvVariant conv2d_default_tile(ConvPass pass);

// Split-K of a reduction over `rows` (the filter gradient's output pixels or Winograd tiles) into
// `chunks` chunks of `chunk_rows` rows: enough invocations to keep the device busy
// (DeviceLimits::busy_invocations) at `invocations_per_chunk` each, every chunk writing
// `partials_per_chunk` floats of scratch that a second pass adds up in chunk order.
struct SplitK {
  uint32_t chunk_rows = 0;
  uint32_t chunks = 0;
};
SplitK split_k(const OpSink& sink, uint64_t rows, uint64_t invocations_per_chunk, uint64_t partials_per_chunk);

// Element counts of the two operands of `pass` and of its output: forward (x, w) -> y, data
// gradient (dy, w) -> dx, filter gradient (x, dy) -> dw.
struct ConvOperandCounts {
  uint64_t a, b, out;
};
ConvOperandCounts conv2d_operand_counts(ConvPass pass, const Conv2dShape& p);

// The variants able to run `pass` on `p` on this sink's device, the default first: the direct rgba32f
// texel variants where the shape allows, else the r32f ones where the views allow; the storage
// ones; then the Winograd ones where the shape allows and VKRES_WINOGRAD is not "off" (without
// them every choice is bit-identical to the default); then the shared-memory ones that fit the
// device's workgroup and shared-memory limits.
std::vector<ConvVariant> conv2d_variants(const OpSink& sink, ConvPass pass, const Conv2dShape& p);
// What the autotuner times of those: all of them on a GPU; on a CPU driver all but the shared-memory
// ones, which ran 10-70x slower there than the default on every ResNet-20 shape (they stay
// choosable, and are tested, on every device).
std::vector<ConvVariant> conv2d_candidates(const OpSink& sink, ConvPass pass, const Conv2dShape& p);
// The key of `pass` on `p` in vk::KernelChoices: the pass and every field of the shape.
std::string conv2d_tuning_key(ConvPass pass, const Conv2dShape& p);
// The key of a training step's forward of `p` in vk::KernelChoices: the variant the tuner timed
// together with the filter gradient's choice (src/tune), which may be a Winograd forward that keeps
// its transformed input for that gradient though a direct one is faster alone.
std::string conv2d_training_forward_key(const Conv2dShape& p);
// What the builders below run: the sink's tuned choice when it names one of conv2d_variants (a
// stale or foreign entry is ignored), else the default. In a training sink the forward takes its
// training entry where that names a Winograd variant on the filter gradient's chosen path (the
// pairing it was timed for), else the forward's own entry.
ConvVariant conv2d_chosen_variant(const OpSink& sink, ConvPass pass, const Conv2dShape& p);

// What the forward pass does to each output after the bias: add `residual` (a tensor shaped like
// y), then ReLU, in the kernel's store. Every path applies the ReLU; the texels, patch and Winograd
// paths also the residual where cout is a multiple of 4 and it fits one rgba32f view. Elsewhere
// ops::add does the residual and the ReLU in a second pass: the same operations in the same order,
// so the same bits.
struct ConvEpilogue {
  std::optional<TensorId> residual;
  bool relu = false;
  bool any() const { return residual.has_value() || relu; }
};
// The binding of conv2d_epilogue.glsl's residual: `e`'s residual through an rgba32f view, or,
// without one, `unused` (another texel binding of the same dispatch, never read).
graph::Binding conv_residual_binding(const ConvEpilogue& e, graph::Binding unused);

// Bytes of what the forward pass of `p` computes from x and its filter gradient can reuse: where
// both run the same Winograd variant, the transformed input (2.25x or 4x x). 0 elsewhere.
uint64_t conv2d_kept_input_bytes(const OpSink& sink, const Conv2dShape& p);

// y = epilogue(conv(x, w) (+ bias)). Without a bias any tensor may fill its binding; it is not read.
// kept_input (conv2d_kept_input_bytes(p) bytes, when those are not 0): written for
// conv2d_backward_filter.
void conv2d_forward(OpSink& sink, const Conv2dShape& p, TensorId x, TensorId w, std::optional<TensorId> bias,
                    TensorId y, const ConvEpilogue& epilogue = {}, std::optional<TensorId> kept_input = {});
// dx (=|+=) the gradient of the forward pass with respect to x.
void conv2d_backward_data(OpSink& sink, const Conv2dShape& p, TensorId dy, TensorId w, GradOut dx);
// dw (=|+=) the gradient with respect to the weights; deterministic (fixed-order split-K). With the
// forward's kept_input it reads that instead of x (not read then): the same bits.
void conv2d_backward_filter(OpSink& sink, const Conv2dShape& p, TensorId x, TensorId dy, GradOut dw,
                            std::optional<TensorId> kept_input = {});
// db (=|+=) the sum of dy over n, oy and ox; deterministic.
void conv2d_backward_bias(OpSink& sink, const Conv2dShape& p, TensorId dy, GradOut db);

// Fully connected layers: x [n][in], w [out][in], bias [out], y [n][out].
void linear_forward(OpSink& sink, int n, int in, int out, TensorId x, TensorId w, std::optional<TensorId> bias,
                    TensorId y);
void linear_backward_data(OpSink& sink, int n, int in, int out, TensorId dy, TensorId w, GradOut dx);
void linear_backward_weight(OpSink& sink, int n, int in, int out, TensorId x, TensorId dy, GradOut dw);
void linear_backward_bias(OpSink& sink, int n, int out, TensorId dy, GradOut db);

}  // namespace vkres::ops
