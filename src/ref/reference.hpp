// Naive CPU twins of every GPU kernel, in double precision. They are the oracle the GPU kernels
// are tested against, so they favour obviousness over speed: plain loops in the order of the math.
// Layouts match the engine: activations NHWC, convolution weights OHWI ([cout][kh][kw][cin]),
// linear weights [out][in]. Each function checks its argument sizes and throws std::invalid_argument.
#pragma once

#include <cstdint>
#include <vector>

#include "core/shapes.hpp"

namespace vkres::ref {

using Vec = std::vector<double>;
using vkres::BatchNormShape;
using vkres::Conv2dShape;
using vkres::Pool2dShape;
using vkres::ShortcutAShape;

// x [n][h][w][cin], weight [cout][kh][kw][cin], bias [cout] or empty -> y [n][oh][ow][cout]
Vec conv2d_forward(const Conv2dShape& s, const Vec& x, const Vec& weight, const Vec& bias);
// dy [n][oh][ow][cout], weight -> dx [n][h][w][cin]
Vec conv2d_backward_data(const Conv2dShape& s, const Vec& dy, const Vec& weight);
// x, dy -> dweight [cout][kh][kw][cin]
Vec conv2d_backward_filter(const Conv2dShape& s, const Vec& x, const Vec& dy);
// dy -> dbias [cout]
Vec conv2d_backward_bias(const Conv2dShape& s, const Vec& dy);

// Batch norm, PyTorch semantics: biased variance normalizes, unbiased variance (count/(count-1))
// updates running_var; running = (1 - momentum) * running + momentum * batch.
struct BatchNormTrainResult {
  Vec y;             // [count][c]
  Vec mean;          // [c] batch mean
  Vec var;           // [c] biased batch variance
  Vec invstd;        // [c] 1 / sqrt(var + eps)
  Vec running_mean;  // [c] updated copy of the input running mean
  Vec running_var;   // [c] updated copy of the input running variance
};
BatchNormTrainResult batchnorm_train_forward(const BatchNormShape& s, const Vec& x, const Vec& gamma,
                                             const Vec& beta, const Vec& running_mean,
                                             const Vec& running_var);
// Evaluation mode: normalizes with the running statistics.
Vec batchnorm_eval_forward(const BatchNormShape& s, const Vec& x, const Vec& gamma, const Vec& beta,
                           const Vec& running_mean, const Vec& running_var);
struct BatchNormGrads {
  Vec dx;      // [count][c]
  Vec dgamma;  // [c]
  Vec dbeta;   // [c]
};
// Training-mode backward (batch statistics recomputed from x).
BatchNormGrads batchnorm_train_backward(const BatchNormShape& s, const Vec& x, const Vec& gamma,
                                        const Vec& dy);

Vec relu_forward(const Vec& x);
// dx = dy where x > 0, else 0
Vec relu_backward(const Vec& x, const Vec& dy);

// Padding never wins (it is -infinity, as in PyTorch). Ties go to the first maximum in
// row-major window order, which is where the whole gradient goes.
Vec maxpool2d_forward(const Pool2dShape& s, const Vec& x);
Vec maxpool2d_backward(const Pool2dShape& s, const Vec& x, const Vec& dy);

// x [n][h][w][c] -> y [n][c]
Vec global_avgpool_forward(int n, int h, int w, int c, const Vec& x);
// dy [n][c] -> dx [n][h][w][c]
Vec global_avgpool_backward(int n, int h, int w, int c, const Vec& dy);

// Elementwise a + b (the residual add); its backward is the identity into both inputs.
Vec add(const Vec& a, const Vec& b);

// Option-A shortcut of the CIFAR ResNets (see ShortcutAShape).
Vec shortcut_a_forward(const ShortcutAShape& s, const Vec& x);
Vec shortcut_a_backward(const ShortcutAShape& s, const Vec& dy);

// x [n][in], weight [out][in], bias [out] or empty -> y [n][out]
Vec linear_forward(int n, int in, int out, const Vec& x, const Vec& weight, const Vec& bias);
Vec linear_backward_data(int n, int in, int out, const Vec& dy, const Vec& weight);
Vec linear_backward_weight(int n, int in, int out, const Vec& x, const Vec& dy);
Vec linear_backward_bias(int n, int out, const Vec& dy);

// Softmax cross-entropy, mean over the batch, with PyTorch's label smoothing: the target is
// (1 - smoothing) * onehot(label) + smoothing / classes. A sample counts as correct at k when
// fewer than k classes have a logit strictly greater than the label's.
struct CrossEntropyResult {
  double loss = 0;  // mean over the batch
  Vec dlogits;      // [n][classes], gradient of the mean loss
  int64_t correct_top1 = 0;
  int64_t correct_top5 = 0;
};
CrossEntropyResult softmax_cross_entropy(int n, int classes, const Vec& logits,
                                         const std::vector<int32_t>& labels, double smoothing);

// One step of torch.optim.SGD on one parameter tensor, in place:
//   g = grad + weight_decay * param
//   if momentum != 0: buf = (first_step ? g : momentum * buf + (1 - dampening) * g)
//                     g = nesterov ? g + momentum * buf : buf
//   param -= lr * g
struct SgdConfig {
  double lr = 0.1;
  double momentum = 0.9;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};
void sgd_step(const SgdConfig& cfg, bool first_step, Vec& param, const Vec& grad, Vec& momentum_buf);

}  // namespace vkres::ref
