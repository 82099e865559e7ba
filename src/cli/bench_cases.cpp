#include "cli/bench_cases.hpp"

#include <fmt/format.h>

#include "core/random_floats.hpp"
#include "ops/batchnorm.hpp"
#include "ops/conv2d.hpp"
#include "ops/elementwise.hpp"
#include "ops/loss.hpp"
#include "ops/pool.hpp"
#include "ops/sgd.hpp"
#include "ops/shortcut.hpp"

namespace vkres::cli {
namespace {

struct Activation {
  int h, w, c;
};

}  // namespace

std::vector<BenchCase> resnet20_bench_cases(int batch) {
  std::vector<BenchCase> cases;
  // The best GEMM this device shows with our kernels: a square-ish 1x1 convolution (4096 x 256 x 256),
  // the yardstick the convolutions below are read against.
  const Conv2dShape gemm{.n = 1, .h = 64, .w = 64, .cin = 256, .cout = 256};
  cases.push_back({"gemm 4096x256x256 (1x1 conv fwd)",
                   [=](graph::Program& p) {
                     auto x = p.tensor(random_floats(gemm.input_count(), 1), "x");
                     auto w = p.tensor(random_floats(gemm.weight_count(), 2), "w");
                     auto y = p.tensor(gemm.output_count() * 4, "y");
                     ops::conv2d_forward(p, gemm, x, w, std::nullopt, y);
                   },
                   4.0 * (gemm.input_count() + gemm.weight_count() + gemm.output_count())});
  // Every distinct 3x3 convolution of ResNet-20: the stem, each stage, and the two stride-2 entries.
  const Conv2dShape convs[] = {
      {batch, 32, 32, 3, 16, 3, 3, 1, 1, 1, 1},  {batch, 32, 32, 16, 16, 3, 3, 1, 1, 1, 1},
      {batch, 32, 32, 16, 32, 3, 3, 2, 2, 1, 1}, {batch, 16, 16, 32, 32, 3, 3, 1, 1, 1, 1},
      {batch, 16, 16, 32, 64, 3, 3, 2, 2, 1, 1}, {batch, 8, 8, 64, 64, 3, 3, 1, 1, 1, 1}};
  for (const auto& c : convs) {
    const std::string shape = fmt::format("{}x{}x{}->{} s{}", c.h, c.w, c.cin, c.cout, c.stride_h);
    const double x_bytes = 4.0 * c.input_count(), w_bytes = 4.0 * c.weight_count(), y_bytes = 4.0 * c.output_count();
    cases.push_back({"conv3x3 fwd " + shape,
                     [=](graph::Program& p) {
                       auto x = p.tensor(random_floats(c.input_count(), 1), "x");
                       auto w = p.tensor(random_floats(c.weight_count(), 2), "w");
                       auto y = p.tensor(c.output_count() * 4, "y");
                       ops::conv2d_forward(p, c, x, w, std::nullopt, y);
                     },
                     x_bytes + w_bytes + y_bytes});
    if (c.cin > 3)  // the stem's input gradient is never needed
      cases.push_back({"conv3x3 bwd data " + shape,
                       [=](graph::Program& p) {
                         auto dy = p.tensor(random_floats(c.output_count(), 1), "dy");
                         auto w = p.tensor(random_floats(c.weight_count(), 2), "w");
                         auto dx = p.tensor(c.input_count() * 4, "dx");
                         ops::conv2d_backward_data(p, c, dy, w, {dx});
                       },
                       x_bytes + w_bytes + y_bytes});
    cases.push_back({"conv3x3 bwd filter " + shape,
                     [=](graph::Program& p) {
                       auto x = p.tensor(random_floats(c.input_count(), 1), "x");
                       auto dy = p.tensor(random_floats(c.output_count(), 2), "dy");
                       auto dw = p.tensor(c.weight_count() * 4, "dw");
                       ops::conv2d_backward_filter(p, c, x, dy, {dw});
                     },
                     x_bytes + w_bytes + y_bytes});
  }
  cases.push_back({"linear fwd 64->10",
                   [=](graph::Program& p) {
                     auto x = p.tensor(random_floats(uint64_t(batch) * 64, 1), "x");
                     auto w = p.tensor(random_floats(640, 2), "w");
                     auto b = p.tensor(random_floats(10, 3), "b");
                     auto y = p.tensor(uint64_t(batch) * 40, "y");
                     ops::linear_forward(p, batch, 64, 10, x, w, b, y);
                   },
                   4.0 * (batch * 74 + 650)});
  // The three stages of ResNet-20 on 32x32 inputs.
  const Activation stages[] = {{32, 32, 16}, {16, 16, 32}, {8, 8, 64}};
  for (const auto& a : stages) {
    const uint64_t n = uint64_t(batch) * a.h * a.w * a.c;
    const std::string shape = fmt::format("{}x{}x{}", a.h, a.w, a.c);
    const BatchNormShape bn{int64_t(batch) * a.h * a.w, a.c};
    // Forward reads x twice (statistics, then normalisation) and writes y once.
    cases.push_back({"batchnorm train fwd " + shape,
                     [=](graph::Program& p) {
                       auto x = p.tensor(random_floats(n, 1), "x");
                       auto affine = p.tensor(random_floats(2 * a.c, 2), "affine");
                       auto running = p.tensor(std::vector<float>(2 * a.c, 1.0f), "running");
                       auto saved = p.tensor(uint64_t(ops::kBatchNormSavedRows) * a.c * 4, "saved");
                       auto y = p.tensor(n * 4, "y");
                       ops::batchnorm_train_forward(p, bn, x, affine, running, saved, y);
                     },
                     12.0 * n});
    // Backward reads x and dy twice (sums, then dx) and writes dx once.
    cases.push_back({"batchnorm bwd " + shape,
                     [=](graph::Program& p) {
                       auto x = p.tensor(random_floats(n, 1), "x");
                       auto dy = p.tensor(random_floats(n, 3), "dy");
                       auto affine = p.tensor(random_floats(2 * a.c, 2), "affine");
                       auto running = p.tensor(std::vector<float>(2 * a.c, 1.0f), "running");
                       auto saved = p.tensor(uint64_t(ops::kBatchNormSavedRows) * a.c * 4, "saved");
                       auto y = p.tensor(n * 4, "y");
                       ops::batchnorm_train_forward(p, bn, x, affine, running, saved, y);  // fills saved
                       p.run();
                       auto daffine = p.tensor(uint64_t(2) * a.c * 4, "daffine");
                       auto dx = p.tensor(n * 4, "dx");
                       p.clear_dispatches();
                       ops::batchnorm_backward(p, bn, x, dy, affine, saved, {daffine}, {dx});
                     },
                     20.0 * n});
    cases.push_back({"relu fwd " + shape,
                     [=](graph::Program& p) {
                       auto x = p.tensor(random_floats(n, 1), "x");
                       auto y = p.tensor(n * 4, "y");
                       ops::relu_forward(p, x, y, n);
                     },
                     8.0 * n});
    cases.push_back({"relu bwd " + shape,
                     [=](graph::Program& p) {
                       auto x = p.tensor(random_floats(n, 1), "x");
                       auto dy = p.tensor(random_floats(n, 2), "dy");
                       auto dx = p.tensor(n * 4, "dx");
                       ops::relu_backward(p, x, dy, {dx, false}, n);
                     },
                     12.0 * n});
    cases.push_back({"residual add " + shape,
                     [=](graph::Program& p) {
                       auto a = p.tensor(random_floats(n, 1), "a");
                       auto b = p.tensor(random_floats(n, 2), "b");
                       auto y = p.tensor(n * 4, "y");
                       ops::add(p, a, b, {y, false}, n);
                     },
                     12.0 * n});
  }
  // Option-A shortcuts at the two stage transitions.
  for (const auto& [from, to] : {std::pair{stages[0], stages[1]}, std::pair{stages[1], stages[2]}}) {
    const ShortcutAShape s{batch, from.h, from.w, from.c, to.c, 2, (to.c - from.c) / 2};
    const std::string shape = fmt::format("{}x{}x{}->{}", from.h, from.w, from.c, to.c);
    cases.push_back({"shortcut A fwd " + shape,
                     [=](graph::Program& p) {
                       auto x = p.tensor(random_floats(s.input_count(), 1), "x");
                       auto y = p.tensor(s.output_count() * 4, "y");
                       ops::shortcut_a_forward(p, s, x, y);
                     },
                     4.0 * (s.input_count() / 4 + s.output_count())});
    cases.push_back({"shortcut A bwd " + shape,
                     [=](graph::Program& p) {
                       auto dy = p.tensor(random_floats(s.output_count(), 1), "dy");
                       auto dx = p.tensor(s.input_count() * 4, "dx");
                       ops::shortcut_a_backward(p, s, dy, {dx});
                     },
                     4.0 * (s.output_count() / 2 + s.input_count())});
  }
  const Pool2dShape pool{batch, 32, 32, 16, 3, 3, 2, 2, 1, 1};
  cases.push_back({"maxpool 3x3 s2 fwd 32x32x16",
                   [=](graph::Program& p) {
                     auto x = p.tensor(random_floats(pool.input_count(), 1), "x");
                     auto y = p.tensor(pool.output_count() * 4, "y");
                     auto argmax = p.tensor(pool.output_count() * 4, "argmax");
                     ops::maxpool_forward(p, pool, x, y, argmax);
                   },
                   4.0 * (pool.input_count() + 2 * pool.output_count())});
  cases.push_back({"maxpool 3x3 s2 bwd 32x32x16",
                   [=](graph::Program& p) {
                     auto dy = p.tensor(random_floats(pool.output_count(), 1), "dy");
                     auto argmax = p.tensor(pool.output_count() * 4, "argmax");
                     ops::fill(p, argmax, pool.output_count(), 0.0f);  // index 0: valid for every window
                     auto dx = p.tensor(pool.input_count() * 4, "dx");
                     ops::maxpool_backward(p, pool, argmax, dy, {dx});
                   },
                   4.0 * (pool.input_count() + 2 * pool.output_count())});
  const uint64_t pooled = uint64_t(batch) * 8 * 8 * 64;
  cases.push_back({"global avgpool fwd 8x8x64",
                   [=](graph::Program& p) {
                     auto x = p.tensor(random_floats(pooled, 1), "x");
                     auto y = p.tensor(uint64_t(batch) * 64 * 4, "y");
                     ops::global_avgpool_forward(p, batch, 8, 8, 64, x, y);
                   },
                   4.0 * pooled});
  cases.push_back({"global avgpool bwd 8x8x64",
                   [=](graph::Program& p) {
                     auto dy = p.tensor(random_floats(uint64_t(batch) * 64, 1), "dy");
                     auto dx = p.tensor(pooled * 4, "dx");
                     ops::global_avgpool_backward(p, batch, 8, 8, 64, dy, {dx});
                   },
                   4.0 * pooled});
  cases.push_back({"softmax cross-entropy 10 classes",
                   [=](graph::Program& p) {
                     auto logits = p.tensor(random_floats(uint64_t(batch) * 10, 1), "logits");
                     std::vector<int32_t> labels(batch);
                     for (int i = 0; i < batch; ++i) labels[i] = i % 10;
                     auto tlabels = p.tensor_of<int32_t>(labels, "labels");
                     auto dlogits = p.tensor(uint64_t(batch) * 40, "dlogits");
                     auto metrics = p.tensor(ops::cross_entropy_metrics_floats(batch) * 4, "metrics");
                     ops::softmax_cross_entropy(p, batch, 10, 0.0f, logits, tlabels, {dlogits}, metrics);
                   },
                   4.0 * batch * 21});
  // ResNet-20 has 0.27M parameters; the optimizer is one dispatch over the flat arena.
  const uint64_t params = 272474;
  cases.push_back({"SGD momentum step 0.27M params",
                   [=](graph::Program& p) {
                     auto param = p.tensor(random_floats(params, 1), "param");
                     auto grad = p.tensor(random_floats(params, 2), "grad");
                     auto momentum = p.tensor(random_floats(params, 3), "momentum");
                     auto hyper = p.tensor_of<float>(ops::sgd_hyper(0.1f, false), "hyper");
                     ops::sgd_step(p, {0.9f, 0.0f, 1e-4f, false}, param, grad, momentum, hyper, params);
                   },
                   4.0 * params * 5});
  return cases;
}

}  // namespace vkres::cli
