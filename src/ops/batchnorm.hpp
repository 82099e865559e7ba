// Batch normalization over NHWC activations viewed as rows [count = n*h*w][c], with PyTorch's
// semantics (torch.nn.BatchNorm2d): the biased batch variance normalizes, the unbiased one
// (count / (count - 1)) updates running_var, running = (1 - momentum) * running + momentum * batch.
//
// Per-channel tensors come in pairs or triples of [c] rows in one tensor, so that no pass binds
// more than 4 storage buffers:
//   affine   [2][c]  gamma, beta                 (daffine: dgamma, dbeta)
//   running  [2][c]  running_mean, running_var   (updated in place by the training forward)
//   saved    [5][c]  mean, invstd, mean_lo, gamma * invstd, beta
//                    (written by the training forward for the backward)
// mean_lo is the part of the batch mean that fp32 `mean` cannot hold (mean_exact ~ mean + mean_lo);
// with it, x - mean keeps its digits when activations sit far from zero. The last two rows are the
// forward's coefficients: with them the backward of a fused ReLU recomputes where the forward's
// output was positive.
//
// Statistics are fixed-order two-pass reductions (per-chunk partials in op scratch, then one merge
// in chunk order): results are bit-identical run to run.
#pragma once

#include <cstdint>
#include <optional>

#include "ops/common.hpp"

namespace vkres::ops {

// Rows of the saved-statistics tensor: it holds kBatchNormSavedRows * c floats.
inline constexpr int kBatchNormSavedRows = 5;

// y = gamma * (x - mean) * invstd + beta with batch statistics; updates running, writes saved.
// residual: y = that + residual, the close of a residual block ([count][c] like x), bit for bit what
// add would make of the unfused output. relu: y = max(that, 0), bit for bit what relu_forward would
// make of it. Each is one pass over the activation fewer.
void batchnorm_train_forward(OpSink& sink, const BatchNormShape& p, TensorId x, TensorId affine,
                             TensorId running, TensorId saved, TensorId y, bool relu = false,
                             std::optional<TensorId> residual = std::nullopt);

// y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta (relu, residual: as above).
void batchnorm_eval_forward(OpSink& sink, const BatchNormShape& p, TensorId x, TensorId affine,
                            TensorId running, TensorId y, bool relu = false,
                            std::optional<TensorId> residual = std::nullopt);

// Evaluation folded into the convolution before it: bn(conv(x, w)) = conv(x, folded_w) + folded_b,
// for a convolution without a bias whose weights are [c][field] (OHWI, c = cout). The convolution
// then does the apply, the residual and the ReLU in its store (ops::ConvEpilogue): no pass over
// the activation for the batch norm. The results differ from batchnorm_eval_forward's by rounding.
void batchnorm_fold_into_conv(OpSink& sink, const BatchNormShape& p, uint64_t field, TensorId conv_weight,
                              TensorId affine, TensorId running, TensorId folded_w, TensorId folded_b);

// Training-mode backward from the forward's saved statistics:
//   dgamma = sum(dy * xhat), dbeta = sum(dy), dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)).
// relu: dy is the gradient of the ReLU fused into the forward (batchnorm_train_forward's relu), and
// is first masked bit for bit as relu_backward would, from the forward's output recomputed: one
// pass over the activation fewer, and no reads of the ReLU's output.
void batchnorm_backward(OpSink& sink, const BatchNormShape& p, TensorId x, TensorId dy, TensorId affine,
                        TensorId saved, GradOut daffine, GradOut dx, bool relu = false);

// The backward of y = relu(batchnorm(x) + residual) (the training forward with both): dy, the
// gradient of y, is masked where y is not positive, bit for bit as relu_backward would, and left
// in place masked, the residual's gradient; daffine and dx are batchnorm_backward's of it. Where the
// passes read through texel views the masking rides them; elsewhere (more than four storage
// buffers) it is a pass of its own before them.
void batchnorm_backward_residual_relu(OpSink& sink, const BatchNormShape& p, TensorId x, TensorId dy, TensorId y,
                                      TensorId affine, TensorId saved, GradOut daffine, GradOut dx);

}  // namespace vkres::ops
