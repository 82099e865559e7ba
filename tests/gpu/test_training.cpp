// The recorded training step of a real model: replay against re-recording, planned barriers
// against a barrier after every dispatch, and the refusals of plans the device cannot hold.
// Numerical agreement with PyTorch is test_parity.cpp's.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "graph/program.hpp"
#include "ops/common.hpp"
#include "ops/conv2d.hpp"
#include "ops/winograd.hpp"
#include "nn/eval_step.hpp"
#include "nn/model_state.hpp"
#include "nn/parity_init.hpp"
#include "nn/resnet.hpp"
#include "nn/training_step.hpp"
#include "support/gpu_env.hpp"

namespace vkres::nn {
namespace {

const ops::SgdConfig kSgd{.momentum = 0.9f, .weight_decay = 1e-4f};

ModelSpec small_resnet20(int input) {
  return describe_model(parse_model("resnet20", {.input = InputSize{input, input}}));
}

void load_parity_init(ModelState& state) {
  std::map<std::string, const Layer*> owner;
  for (const Layer& l : state.spec().layers)
    for (const StateEntry& e : l.state) owner[e.name] = &l;
  state.load([&](const StateEntry& e) { return parity_init(*owner.at(e.name), e); });
}

// Every state_dict entry's bytes, in order: equal vectors mean bit-identical models.
std::vector<float> all_state(ModelState& state) {
  std::vector<float> all;
  for (const StateEntry& e : state_dict(state.spec())) {
    const std::vector<float> v = state.read(e);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

bool bit_identical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Trains `steps` steps on one fixed batch, with a learning rate that changes every step so that
// the per-step upload of the hyper tensor matters, and returns the final state.
template <class BeforeStep>
std::vector<float> train(const ModelSpec& spec, int batch, int steps, BeforeStep before_step) {
  ModelState state(test::gpu(), spec);
  load_parity_init(state);
  TrainingStep step(state, batch, kSgd);
  step.set_batch(parity_input_nhwc(spec.config, batch), parity_labels(spec.config, batch));
  for (int s = 0; s < steps; ++s) {
    before_step(step, s);
    const double loss = step.step(0.02f / float(1 + s % 7)).loss;
    EXPECT_TRUE(std::isfinite(loss)) << "step " << s;
  }
  return all_state(state);
}

TEST(GpuTrainingStep, FullBarriersGiveBitIdenticalResults) {
  const ModelSpec spec = small_resnet20(9);
  const std::vector<float> planned = train(spec, 3, 3, [](TrainingStep& s, int step) {
    if (step == 0) s.set_sync_mode(graph::SyncMode::planned);
  });
  size_t planned_barriers = 0, full_barriers = 0;
  const std::vector<float> full = train(spec, 3, 3, [&](TrainingStep& s, int step) {
    if (step == 0) s.set_sync_mode(graph::SyncMode::full);
    if (step == 1) full_barriers = s.graph().barrier_count();
  });
  train(spec, 3, 1, [&](TrainingStep& s, int) {
    s.set_sync_mode(graph::SyncMode::planned);
    s.compile();
    s.rerecord();
    planned_barriers = s.graph().barrier_count();
  });
  EXPECT_TRUE(bit_identical(planned, full));
  EXPECT_LT(planned_barriers, full_barriers) << "planning removed no barrier";
}

// The step is recorded once and replayed (ctest's gpu run only: 200 steps); recording it afresh before every step must not change
// a single bit over 100 steps (no state hides in the recording, nothing depends on its age).
TEST(GpuTrainingStepLong, ReplayingEqualsRecordingAfresh) {
  const ModelSpec spec = small_resnet20(8);
  constexpr int kSteps = 100;
  const std::vector<float> replayed = train(spec, 2, kSteps, [](TrainingStep&, int) {});
  const std::vector<float> rerecorded = train(spec, 2, kSteps, [](TrainingStep& s, int) { s.rerecord(); });
  EXPECT_TRUE(bit_identical(replayed, rerecorded));
}

// The acceptance size: ResNet-20 at batch 128 on 32x32 images, under synchronization validation
// in its own ctest run, gpu_sync_batch128 (any validation message fails the test): one step takes
// seconds on lavapipe, so the other runs leave it out.
TEST(GpuTrainingStepBatch128, ResNet20) {
  const ModelSpec spec = describe_model(parse_model("resnet20"));
  ModelState state(test::gpu(), spec);
  load_parity_init(state);
  TrainingStep step(state, 128, kSgd);
  step.set_batch(parity_input_nhwc(spec.config, 128), parity_labels(spec.config, 128));
  const BatchMetrics first = step.step(0.1f);
  const BatchMetrics second = step.step(0.1f);
  EXPECT_TRUE(std::isfinite(first.loss) && std::isfinite(second.loss));
  EXPECT_LT(second.loss, first.loss) << "a step on the same batch should lower its loss";
  EvalStep eval(state, 128);
  eval.set_batch(parity_input_nhwc(spec.config, 128), parity_labels(spec.config, 128));
  EXPECT_TRUE(std::isfinite(eval.run().loss));
}

// How many of the graph's dispatches have a label `matches` accepts.
template <class Match>
size_t dispatches_where(const ForwardGraph& step, Match matches) {
  size_t n = 0;
  for (const graph::Dispatch& d : step.graph().dispatches()) n += matches(std::string_view(d.label));
  return n;
}

size_t dispatches_labelled(const ForwardGraph& step, std::string_view label) {
  return dispatches_where(step, [&](std::string_view l) { return l == label; });
}

size_t dispatches_starting(const ForwardGraph& step, std::string_view prefix) {
  return dispatches_where(step, [&](std::string_view l) { return l.starts_with(prefix); });
}

// ResNet-20's backward with the fusions: batch norm backward masks the gradient of each ReLU fused
// into its forward (the stem's and every block's first); where texel loads are on, the last batch
// norm of each block whose shortcut is the identity also masks by the ReLU after its residual add,
// so ReLU backward runs only after the two projecting blocks' adds (after all nine otherwise); and
// no gradient is copied, as both inputs of every add take dy itself. The same bits as the unfused
// graph (VKRES_FUSION=off), which runs the passes apart.
TEST(GpuTrainingStep, FusedBackwardRunsFewerPassesWithTheSameBits) {
  const ModelSpec spec = small_resnet20(7);
  graph::Program probe(test::gpu());
  const bool masked = ops::texel_reads(probe, 4);
  {
    ModelState state(test::gpu(), spec);
    TrainingStep step(state, 3, kSgd);
    EXPECT_EQ(dispatches_labelled(step, "relu bwd"), masked ? 2u : 9u);
    EXPECT_EQ(dispatches_labelled(step, "batchnorm bwd sums + relu"), masked ? 17u : 10u);
    EXPECT_EQ(dispatches_labelled(step, "batchnorm bwd sums"), masked ? 2u : 9u);
    EXPECT_EQ(dispatches_labelled(step, "batchnorm fwd apply + add + relu"), 9u);
    EXPECT_EQ(dispatches_labelled(step, "add + relu"), 0u);
    EXPECT_EQ(dispatches_labelled(step, "copy"), 0u);
  }
  auto no_change = [](TrainingStep&, int) {};
  const std::vector<float> fused = train(spec, 3, 3, no_change);
  ASSERT_EQ(setenv("VKRES_FUSION", "off", 1), 0);
  std::vector<float> apart;
  {
    ModelState state(test::gpu(), spec);
    TrainingStep step(state, 3, kSgd);
    EXPECT_EQ(dispatches_labelled(step, "relu bwd"), 19u);
    EXPECT_EQ(dispatches_labelled(step, "batchnorm bwd sums + relu"), 0u);
    EXPECT_EQ(dispatches_labelled(step, "batchnorm fwd apply + add + relu"), 0u);
    apart = train(spec, 3, 3, no_change);
  }
  unsetenv("VKRES_FUSION");
  EXPECT_TRUE(bit_identical(fused, apart));
}

// Evaluation folds each of ResNet-20's 19 batch norms into the convolution before it, which also
// adds the residual and applies the ReLU: no batch-norm pass over an activation, and no add or ReLU
// pass where the convolutions read the residual (texel loads on). The logits are the unfused
// graph's (VKRES_FUSION=off) up to rounding.
TEST(GpuEvalStep, FoldsEachBatchNormIntoItsConvolution) {
  const ModelSpec spec = small_resnet20(7);
  graph::Program probe(test::gpu());
  const bool residual_read = ops::texel_reads(probe, 4);
  ModelState state(test::gpu(), spec);
  load_parity_init(state);
  const std::vector<float> images = parity_input_nhwc(spec.config, 3);
  const std::vector<int32_t> labels = parity_labels(spec.config, 3);
  const auto logits = [&] {
    EvalStep eval(state, 3);
    eval.set_batch(images, labels);
    eval.run();
    return eval.logits();
  };
  {
    EvalStep eval(state, 3);
    EXPECT_EQ(dispatches_labelled(eval, "batchnorm fold weights"), 19u);
    EXPECT_EQ(dispatches_labelled(eval, "batchnorm fold bias"), 19u);
    EXPECT_EQ(dispatches_starting(eval, "batchnorm eval"), 0u);
    EXPECT_EQ(dispatches_starting(eval, "relu"), 0u);
    EXPECT_EQ(dispatches_starting(eval, "add"), residual_read ? 0u : 9u);
  }
  const std::vector<float> folded = logits();
  ASSERT_EQ(setenv("VKRES_FUSION", "off", 1), 0);
  {
    EvalStep eval(state, 3);
    EXPECT_EQ(dispatches_labelled(eval, "batchnorm fold weights"), 0u);
    EXPECT_EQ(dispatches_labelled(eval, "batchnorm eval coeffs"), 19u);
  }
  const std::vector<float> apart = logits();
  unsetenv("VKRES_FUSION");
  std::vector<double> want(apart.begin(), apart.end());
  test::expect_close(folded, want, 1e-5, "folded logits", test::kCancellingFloor);
}

// Tuned to Winograd F(4x4) in both the forward pass and the filter gradient, each 3x3 stride-1
// convolution's filter gradient reads the transformed input its forward pass kept: no input
// transform in the backward pass. Training then agrees with the direct kernels' up to Winograd's
// rounding.
TEST(GpuTrainingStep, WinogradFilterGradientsReuseTheForwardsTransform) {
  graph::Program probe(test::gpu());
  if (!ops::winograd_enabled() || !ops::texel_reads(probe, 4)) GTEST_SKIP() << "Winograd off or texel loads off";
  const ModelSpec spec = small_resnet20(9);
  vk::KernelChoices& choices = test::gpu().kernel_choices();
  const vk::KernelChoices saved = choices;
  size_t winograd_layers = 0;
  for (const Layer& l : spec.layers) {
    if (l.kind != LayerKind::conv) continue;
    const Conv2dShape p = with_batch(std::get<Conv2dShape>(l.shape), 3);
    if (p.kh != 3 || p.stride_h != 1 || p.cin % 4 != 0) continue;
    ++winograd_layers;
    for (ops::ConvPass pass : {ops::ConvPass::forward, ops::ConvPass::backward_filter})
      choices[ops::conv2d_tuning_key(pass, p)] = "winograd4 16x16";
  }
  EXPECT_EQ(winograd_layers, 16u);  // 18 in the blocks, 2 of them stride 2
  const std::vector<float> winograd = train(spec, 3, 3, [](TrainingStep& step, int s) {
    if (s == 0) {
      const auto filter_gradient_ending = [&](std::string_view suffix) {
        return dispatches_where(step, [&](std::string_view l) {
          return l.starts_with("conv2d bwd filter") && l.ends_with(suffix);
        });
      };
      EXPECT_EQ(filter_gradient_ending(" dw"), 16u) << "Winograd filter gradients";
      EXPECT_EQ(filter_gradient_ending(" input"), 0u) << "filter gradients transforming x again";
    }
  });
  choices = saved;
  const std::vector<float> direct = train(spec, 3, 3, [](TrainingStep&, int) {});
  test::expect_close(winograd, std::vector<double>(direct.begin(), direct.end()), 1e-3, "trained state",
                     test::kCancellingFloor);
}

// A training forward tuned onto its Winograd filter gradient's path (tune_training_forward) runs
// there in the training step, its transform kept for the gradient, while evaluation keeps the
// forward's own choice; the pairing is ignored once the gradient runs another path.
TEST(GpuTrainingStep, TrainingForwardsFollowTheirPairedWinogradFilterGradients) {
  graph::Program probe(test::gpu());
  if (!ops::winograd_enabled() || !ops::texel_reads(probe, 4)) GTEST_SKIP() << "Winograd off or texel loads off";
  const ModelSpec spec = small_resnet20(9);
  vk::KernelChoices& choices = test::gpu().kernel_choices();
  const vk::KernelChoices saved = choices;
  std::vector<std::string> filter_keys;
  for (const Layer& l : spec.layers) {
    if (l.kind != LayerKind::conv) continue;
    const Conv2dShape p = with_batch(std::get<Conv2dShape>(l.shape), 3);
    if (p.kh != 3 || p.stride_h != 1 || p.cin % 4 != 0) continue;
    choices[ops::conv2d_tuning_key(ops::ConvPass::forward, p)] = "texels 16x16";
    choices[ops::conv2d_training_forward_key(p)] = "winograd4 16x16";
    filter_keys.push_back(ops::conv2d_tuning_key(ops::ConvPass::backward_filter, p));
  }
  const auto winograd_forwards = [](const ForwardGraph& g) {
    return dispatches_where(g, [](std::string_view l) {
      return l.starts_with("conv2d fwd") && l.find("[winograd4 16x16] gemm") != std::string_view::npos;
    });
  };
  const auto filter_input_transforms = [](const ForwardGraph& g) {
    return dispatches_where(g, [](std::string_view l) {
      return l.starts_with("conv2d bwd filter") && l.ends_with(" input");
    });
  };
  ModelState state(test::gpu(), spec);
  for (const std::string& key : filter_keys) choices[key] = "winograd4 16x16";
  {
    TrainingStep step(state, 3, kSgd);
    EvalStep eval(state, 3);
    EXPECT_EQ(winograd_forwards(step), 16u) << "training forwards on the gradient's path";
    EXPECT_EQ(filter_input_transforms(step), 0u) << "filter gradients transforming x again";
    EXPECT_EQ(winograd_forwards(eval), 0u) << "evaluation runs the forward's own choice";
  }
  for (const std::string& key : filter_keys) choices[key] = "texels 16x16";
  {
    TrainingStep step(state, 3, kSgd);
    EXPECT_EQ(winograd_forwards(step), 0u) << "a pairing with a gradient that no longer runs Winograd";
  }
  choices = saved;
}

TEST(GpuTrainingStep, TrainingAndEvaluationShareTheParameters) {
  const ModelSpec spec = small_resnet20(7);
  ModelState state(test::gpu(), spec);
  load_parity_init(state);
  TrainingStep train_step(state, 3, kSgd);
  EvalStep eval(state, 3);
  const std::vector<float> images = parity_input_nhwc(spec.config, 3);
  const std::vector<int32_t> labels = parity_labels(spec.config, 3);
  train_step.set_batch(images, labels);
  eval.set_batch(images, labels);
  eval.run();
  const std::vector<float> before = eval.logits();
  train_step.step(0.05f);
  eval.run();
  EXPECT_NE(eval.logits(), before) << "evaluation did not see the trained parameters";
  EXPECT_LT(eval.memory_plan().total_bytes, train_step.memory_plan().total_bytes);
  EXPECT_EQ(eval.memory_plan().arena(graph::ArenaKind::gradients).size, 0u);
}

TEST(GpuTrainingStep, RefusesAPlanOverTheDeviceMemoryBeforeAllocating) {
  const ModelSpec spec = small_resnet20(8);
  ModelState state(test::gpu(), spec);
  TrainingStep step(state, 2, kSgd);
  const graph::MemoryPlan plan = step.memory_plan();
  const vk::MemoryPool& pool = test::gpu().device_memory();
  ASSERT_TRUE(plan.limits.budget.has_value());
  EXPECT_EQ(*plan.limits.budget, pool.heap_size() - pool.bytes_in_use()) << "the default budget is the heap's rest";

  const uint64_t in_use = pool.bytes_in_use();
  const uint64_t budget = plan.total_bytes - 1;
  try {
    step.compile(budget);
    FAIL() << "a plan of " << plan.total_bytes << " bytes was compiled under a budget of " << budget;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(std::to_string(plan.total_bytes) + " bytes"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(budget) + " bytes"), std::string::npos) << message;
  }
  EXPECT_EQ(test::gpu().device_memory().bytes_in_use(), in_use) << "a refused plan allocated memory";
  EXPECT_NO_THROW(step.compile());
}

TEST(GpuTrainingStep, RefusesATensorOverTheBindingLimit) {
  const ModelSpec spec = small_resnet20(8);
  ModelState state(test::gpu(), spec);
  // The stem's output, 8x8x16 floats per image, is the largest activation.
  const uint64_t per_image = 8 * 8 * 16 * sizeof(float);
  const uint64_t limit = test::gpu().limits().max_storage_buffer_range;
  const int batch = int(limit / per_image + 1);
  try {
    TrainingStep step(state, batch, kSgd);
    step.compile();
    FAIL() << "batch " << batch << " was compiled";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("largest storage binding"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(limit) + " bytes"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(per_image * uint64_t(batch)) + " bytes"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace vkres::nn
