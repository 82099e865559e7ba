// Evaluation of a ModelState over a whole dataset split: images in dataset order, no
// augmentation, batch norm in evaluation mode. A last partial batch runs through a second, smaller
// EvalStep, so every image counts once and the loss is the exact mean over the images.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "data/batch.hpp"
#include "data/dataset.hpp"
#include "nn/eval_step.hpp"

namespace vkres::train {

struct EvalResult {
  uint64_t images = 0;
  double loss = 0;  // mean over the images
  uint64_t correct_top1 = 0, correct_top5 = 0;
  std::vector<uint64_t> class_total, class_correct;  // per label, top-1
  double seconds = 0;                                // wall time, data loading included
  double top1() const { return images ? double(correct_top1) / double(images) : 0; }
  double top5() const { return images ? double(correct_top5) / double(images) : 0; }
};

// What --save-logits keeps: the normalized images as fed (NHWC), labels and logits, dataset order.
struct EvalRecord {
  std::vector<float> images;
  std::vector<int64_t> labels;
  std::vector<float> logits;
};

class Evaluator {
 public:
  // The dataset and state must outlive the evaluator. `limit` > 0 evaluates only the first images.
  Evaluator(nn::ModelState& state, const data::Dataset& dataset, const data::Normalization& norm, int batch,
            uint64_t limit = 0, size_t workers = 2);

  // Throws vkres::Error when a label is outside the model's classes.
  EvalResult run(EvalRecord* record = nullptr);

 private:
  nn::EvalStep& step_for(size_t n);

  nn::ModelState& state_;
  const data::Dataset& dataset_;
  data::BatchAssembler assembler_;
  int batch_;
  uint64_t count_;
  size_t workers_;
  std::unique_ptr<nn::EvalStep> full_, tail_;
};

}  // namespace vkres::train
