// Softmax cross-entropy (torch.nn.CrossEntropyLoss) and one step of torch.optim.SGD.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "ref/check.hpp"
#include "ref/reference.hpp"

namespace vkres::ref {
namespace {

using detail::require;
using detail::require_size;

void check_labels(const char* function, int classes, const std::vector<int32_t>& labels) {
  for (size_t i = 0; i < labels.size(); ++i)
    require(labels[i] >= 0 && labels[i] < classes, function,
            "labels[" + std::to_string(i) + "] = " + std::to_string(labels[i]) +
                " is outside [0, " + std::to_string(classes) + ")");
}

// Relative to the row's maximum, so exp cannot overflow; subtracting the maximum from each logit
// before (rather than after) adding log(sum) keeps large logits from eating the small terms.
Vec log_softmax(const double* row, int classes) {
  const double max = *std::max_element(row, row + classes);
  double sum = 0.0;
  for (int j = 0; j < classes; ++j) sum += std::exp(row[j] - max);
  const double log_sum = std::log(sum);
  Vec log_probs(static_cast<size_t>(classes));
  for (int j = 0; j < classes; ++j) log_probs[j] = (row[j] - max) - log_sum;
  return log_probs;
}

int classes_ranked_above(const double* row, int classes, int label) {
  int above = 0;
  for (int j = 0; j < classes; ++j) above += row[j] > row[label] ? 1 : 0;
  return above;
}

// The same limits torch.optim.SGD enforces when it is constructed.
void check_config(const SgdConfig& cfg) {
  const char* fn = "sgd_step";
  require(cfg.lr >= 0.0, fn, "cfg.lr must not be negative");
  require(cfg.momentum >= 0.0, fn, "cfg.momentum must not be negative");
  require(cfg.weight_decay >= 0.0, fn, "cfg.weight_decay must not be negative");
  require(!cfg.nesterov || (cfg.momentum > 0.0 && cfg.dampening == 0.0), fn,
          "cfg.nesterov needs momentum > 0 and dampening == 0");
}

}  // namespace

CrossEntropyResult softmax_cross_entropy(int n, int classes, const Vec& logits,
                                         const std::vector<int32_t>& labels, double smoothing) {
  const char* fn = "softmax_cross_entropy";
  require(n > 0 && classes > 0, fn, "n and classes must be positive");
  require_size(fn, "logits", logits.size(), size_t(n) * classes);
  require_size(fn, "labels", labels.size(), size_t(n));
  check_labels(fn, classes, labels);
  require(smoothing >= 0.0 && smoothing <= 1.0, fn, "smoothing must be within [0, 1]");

  CrossEntropyResult result;
  result.dlogits.resize(logits.size());
  double loss_sum = 0.0;
  for (int b = 0; b < n; ++b) {
    const double* row = logits.data() + size_t(b) * classes;
    const int label = labels[b];
    const Vec log_probs = log_softmax(row, classes);
    for (int j = 0; j < classes; ++j) {
      const double target = (j == label ? 1.0 - smoothing : 0.0) + smoothing / classes;
      loss_sum -= target * log_probs[j];
      // The targets sum to one, so d(-sum target * log_softmax)/dz_j = softmax_j - target_j.
      result.dlogits[size_t(b) * classes + j] = (std::exp(log_probs[j]) - target) / n;
    }
    const int above = classes_ranked_above(row, classes, label);
    result.correct_top1 += above < 1 ? 1 : 0;
    result.correct_top5 += above < 5 ? 1 : 0;
  }
  result.loss = loss_sum / n;
  return result;
}

void sgd_step(const SgdConfig& cfg, bool first_step, Vec& param, const Vec& grad,
              Vec& momentum_buf) {
  const char* fn = "sgd_step";
  check_config(cfg);
  require_size(fn, "grad", grad.size(), param.size());
  const bool use_momentum = cfg.momentum != 0.0;
  if (use_momentum) {
    // The first step creates the buffer, so what it held before (even its size) does not matter.
    if (first_step)
      momentum_buf.assign(param.size(), 0.0);
    else
      require_size(fn, "momentum_buf", momentum_buf.size(), param.size());
  }

  for (size_t i = 0; i < param.size(); ++i) {
    double g = grad[i] + cfg.weight_decay * param[i];
    if (use_momentum) {
      double& buf = momentum_buf[i];
      buf = first_step ? g : cfg.momentum * buf + (1.0 - cfg.dampening) * g;
      g = cfg.nesterov ? g + cfg.momentum * buf : buf;
    }
    param[i] -= cfg.lr * g;
  }
}

}  // namespace vkres::ref
