// Batch normalization with PyTorch's semantics (torch.nn.BatchNorm2d).
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "ref/check.hpp"
#include "ref/reference.hpp"

namespace vkres::ref {
namespace {

using detail::require;
using detail::require_size;

void check_shape(const char* function, const BatchNormShape& s) {
  require(s.count > 0 && s.c > 0, function, "shape: count and c must be positive");
}

// PyTorch refuses to train with one value per channel: the unbiased variance that updates
// running_var would divide by zero.
void check_training_shape(const char* function, const BatchNormShape& s) {
  check_shape(function, s);
  require(s.count >= 2, function, "shape: training needs count >= 2 values per channel");
}

size_t element_count(const BatchNormShape& s) { return size_t(s.count) * size_t(s.c); }

struct BatchStatistics {
  Vec mean;  // [c]
  Vec var;   // [c], biased: divided by count
};

// Two passes (mean first, then squared deviations) so the variance does not suffer the
// cancellation of E[x^2] - E[x]^2.
BatchStatistics batch_statistics(const BatchNormShape& s, const Vec& x) {
  BatchStatistics stats{Vec(size_t(s.c), 0.0), Vec(size_t(s.c), 0.0)};
  for (int64_t r = 0; r < s.count; ++r)
    for (int ch = 0; ch < s.c; ++ch) stats.mean[ch] += x[size_t(r) * s.c + ch];
  for (double& m : stats.mean) m /= double(s.count);

  for (int64_t r = 0; r < s.count; ++r)
    for (int ch = 0; ch < s.c; ++ch) {
      const double d = x[size_t(r) * s.c + ch] - stats.mean[ch];
      stats.var[ch] += d * d;
    }
  for (double& v : stats.var) v /= double(s.count);
  return stats;
}

Vec inverse_std(const Vec& var, double eps) {
  Vec invstd(var.size());
  for (size_t ch = 0; ch < var.size(); ++ch) invstd[ch] = 1.0 / std::sqrt(var[ch] + eps);
  return invstd;
}

// y = (x - mean) * invstd * gamma + beta, per channel.
Vec normalize(const BatchNormShape& s, const Vec& x, const Vec& mean, const Vec& invstd,
              const Vec& gamma, const Vec& beta) {
  Vec y(x.size());
  for (int64_t r = 0; r < s.count; ++r)
    for (int ch = 0; ch < s.c; ++ch) {
      const size_t i = size_t(r) * s.c + ch;
      y[i] = (x[i] - mean[ch]) * invstd[ch] * gamma[ch] + beta[ch];
    }
  return y;
}

}  // namespace

BatchNormTrainResult batchnorm_train_forward(const BatchNormShape& s, const Vec& x,
                                             const Vec& gamma, const Vec& beta,
                                             const Vec& running_mean, const Vec& running_var) {
  const char* fn = "batchnorm_train_forward";
  check_training_shape(fn, s);
  require_size(fn, "x", x, element_count(s));
  require_size(fn, "gamma", gamma, size_t(s.c));
  require_size(fn, "beta", beta, size_t(s.c));
  require_size(fn, "running_mean", running_mean, size_t(s.c));
  require_size(fn, "running_var", running_var, size_t(s.c));

  BatchStatistics stats = batch_statistics(s, x);
  BatchNormTrainResult result;
  result.invstd = inverse_std(stats.var, s.eps);
  result.y = normalize(s, x, stats.mean, result.invstd, gamma, beta);

  const double unbiased_scale = double(s.count) / double(s.count - 1);
  result.running_mean.resize(size_t(s.c));
  result.running_var.resize(size_t(s.c));
  for (int ch = 0; ch < s.c; ++ch) {
    result.running_mean[ch] = (1.0 - s.momentum) * running_mean[ch] + s.momentum * stats.mean[ch];
    result.running_var[ch] =
        (1.0 - s.momentum) * running_var[ch] + s.momentum * stats.var[ch] * unbiased_scale;
  }
  result.mean = std::move(stats.mean);
  result.var = std::move(stats.var);
  return result;
}

Vec batchnorm_eval_forward(const BatchNormShape& s, const Vec& x, const Vec& gamma, const Vec& beta,
                           const Vec& running_mean, const Vec& running_var) {
  const char* fn = "batchnorm_eval_forward";
  check_shape(fn, s);
  require_size(fn, "x", x, element_count(s));
  require_size(fn, "gamma", gamma, size_t(s.c));
  require_size(fn, "beta", beta, size_t(s.c));
  require_size(fn, "running_mean", running_mean, size_t(s.c));
  require_size(fn, "running_var", running_var, size_t(s.c));

  return normalize(s, x, running_mean, inverse_std(running_var, s.eps), gamma, beta);
}

// With xhat = (x - mean) * invstd and the batch statistics depending on x:
//   dbeta = sum(dy), dgamma = sum(dy * xhat)
//   dx = gamma * invstd / count * (count * dy - dbeta - xhat * dgamma)
BatchNormGrads batchnorm_train_backward(const BatchNormShape& s, const Vec& x, const Vec& gamma,
                                        const Vec& dy) {
  const char* fn = "batchnorm_train_backward";
  check_training_shape(fn, s);
  require_size(fn, "x", x, element_count(s));
  require_size(fn, "gamma", gamma, size_t(s.c));
  require_size(fn, "dy", dy, element_count(s));

  const BatchStatistics stats = batch_statistics(s, x);
  const Vec invstd = inverse_std(stats.var, s.eps);
  // xhat is the normalized input before the affine transform (gamma 1, beta 0).
  const Vec xhat =
      normalize(s, x, stats.mean, invstd, Vec(size_t(s.c), 1.0), Vec(size_t(s.c), 0.0));

  BatchNormGrads grads{Vec(x.size()), Vec(size_t(s.c), 0.0), Vec(size_t(s.c), 0.0)};
  for (int64_t r = 0; r < s.count; ++r)
    for (int ch = 0; ch < s.c; ++ch) {
      const size_t i = size_t(r) * s.c + ch;
      grads.dbeta[ch] += dy[i];
      grads.dgamma[ch] += dy[i] * xhat[i];
    }

  const double count = double(s.count);
  for (int64_t r = 0; r < s.count; ++r)
    for (int ch = 0; ch < s.c; ++ch) {
      const size_t i = size_t(r) * s.c + ch;
      grads.dx[i] = gamma[ch] * invstd[ch] / count *
                    (count * dy[i] - grads.dbeta[ch] - xhat[i] * grads.dgamma[ch]);
    }
  return grads;
}

}  // namespace vkres::ref
