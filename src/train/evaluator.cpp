#include "train/evaluator.hpp"

#include <fmt/format.h>

#include <chrono>

#include "core/error.hpp"
#include "data/loader.hpp"
#include "data/sampler.hpp"

namespace vkres::train {

Evaluator::Evaluator(nn::ModelState& state, const data::Dataset& dataset, const data::Normalization& norm,
                     int batch, uint64_t limit, size_t workers)
    : state_(state),
      dataset_(dataset),
      assembler_(dataset, norm, data::AugmentOptions{.enabled = false}, 0),
      batch_(batch),
      count_(limit > 0 ? std::min<uint64_t>(limit, dataset.size()) : dataset.size()),
      workers_(workers) {
  const nn::ModelConfig& m = state.spec().config;
  if (dataset.height() != m.input.h || dataset.width() != m.input.w)
    throw Error(fmt::format("{} has {}x{} images but {} takes {}x{}", dataset.name(), dataset.height(),
                            dataset.width(), m.name, m.input.h, m.input.w));
  if (dataset.num_classes() > m.num_classes)
    throw Error(fmt::format("{} has {} classes but the model has {} outputs", dataset.name(), dataset.num_classes(),
                            m.num_classes));
}

nn::EvalStep& Evaluator::step_for(size_t n) {
  std::unique_ptr<nn::EvalStep>& step = n == size_t(batch_) ? full_ : tail_;
  if (!step || size_t(step->batch()) != n) step = std::make_unique<nn::EvalStep>(state_, int(n));
  return *step;
}

EvalResult Evaluator::run(EvalRecord* record) {
  const auto start = std::chrono::steady_clock::now();
  EvalResult r;
  const int classes = state_.spec().config.num_classes;
  r.class_total.assign(size_t(dataset_.num_classes()), 0);
  r.class_correct.assign(size_t(dataset_.num_classes()), 0);
  if (record) *record = {};

  const data::EpochSampler sampler(count_, {.batch_size = size_t(batch_), .shuffle = false, .drop_last = false});
  data::Loader loader(assembler_, sampler, 0, {.workers = workers_});
  data::Batch b;
  double loss_sum = 0;
  while (loader.next(b)) {
    for (int32_t label : b.labels)
      if (label < 0 || label >= classes)
        throw Error(fmt::format("{}: label {} is outside the model's {} classes", dataset_.name(), label, classes));
    nn::EvalStep& step = step_for(b.n);
    step.set_batch(b.images, b.labels);
    const nn::BatchMetrics m = step.run();
    loss_sum += m.loss * double(b.n);
    r.correct_top1 += m.correct_top1;
    r.correct_top5 += m.correct_top5;
    for (size_t i = 0; i < b.n; ++i) {
      ++r.class_total[size_t(b.labels[i])];
      if (m.label_rank[i] == 0) ++r.class_correct[size_t(b.labels[i])];
    }
    r.images += b.n;
    if (record) {
      record->images.insert(record->images.end(), b.images.begin(), b.images.end());
      record->labels.insert(record->labels.end(), b.labels.begin(), b.labels.end());
      const std::vector<float> logits = step.logits();
      record->logits.insert(record->logits.end(), logits.begin(), logits.end());
    }
  }
  r.loss = r.images ? loss_sum / double(r.images) : 0;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace vkres::train
