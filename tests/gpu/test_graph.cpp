// graph::Graph on a real device: planned memory gives the same bits as eager allocation, reused
// bytes are ordered by barriers, replays equal fresh recordings, arena views, phases and bound
// bytes for profiles, impossible plans.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "core/error.hpp"
#include "graph/graph.hpp"
#include "ops/batchnorm.hpp"
#include "ops/elementwise.hpp"
#include "ops/sgd.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using graph::ArenaKind;
using graph::Graph;
using graph::TensorId;
using test::gpu;

// Normal values on a grid of 1/8: sums and products by 0.5 stay exact in fp32.
std::vector<float> grid_values(size_t n, unsigned seed) {
  return test::to_float(test::random_on_grid(n, seed, 1.0, 0.125));
}

const graph::PlacedTensor& placed(const graph::MemoryPlan& plan, const std::string& name) {
  auto it = std::find_if(plan.tensors.begin(), plan.tensors.end(), [&](const auto& t) { return t.name == name; });
  return plan.tensors.at(static_cast<size_t>(it - plan.tensors.begin()));  // throws (fails the test) if absent
}

// out = relu(batchnorm(x)) + x with running statistics updated in place. Activations come from
// `activation`, so that one builder serves Program (eager tensors) and Graph (transient ones).
struct ChainTensors {
  TensorId x, affine, running, out;
};
constexpr BatchNormShape kChainShape{.count = 70, .c = 13};
constexpr uint64_t kChainCount = 70 * 13;

void build_chain(graph::OpSink& sink, const ChainTensors& t,
                 const std::function<TensorId(std::string, uint64_t)>& activation) {
  const uint64_t bytes = kChainCount * sizeof(float);
  TensorId saved = activation("saved", ops::kBatchNormSavedRows * kChainShape.c * sizeof(float));
  TensorId y = activation("bn_y", bytes);
  ops::batchnorm_train_forward(sink, kChainShape, t.x, t.affine, t.running, saved, y);
  TensorId r = activation("relu", bytes);
  ops::relu_forward(sink, y, r, kChainCount);
  TensorId sum = activation("sum", bytes);  // may reuse bn_y's bytes, read by the relu just before
  ops::add(sink, r, t.x, {sum, false}, kChainCount);
  ops::copy(sink, sum, {t.out, false}, kChainCount);
}

struct ChainInputs {
  std::vector<float> x = grid_values(kChainCount, 11);
  std::vector<float> affine = grid_values(2 * kChainShape.c, 12);
  std::vector<float> running = std::vector<float>(2 * kChainShape.c, 0.5f);
};

TEST(GpuGraph, MatchesProgramBitForBitWhileReusingMemory) {
  const ChainInputs in;
  graph::Program p(gpu());
  ChainTensors pt{p.tensor(in.x, "x"), p.tensor(in.affine, "affine"), p.tensor(in.running, "running"),
                  p.tensor(kChainCount * sizeof(float), "out")};
  build_chain(p, pt, [&](std::string name, uint64_t bytes) { return p.tensor(bytes, std::move(name)); });
  p.run();
  p.run();

  auto& ctx = gpu();
  const uint64_t in_use_before = ctx.device_memory().bytes_in_use();
  Graph g(ctx);
  ChainTensors gt{g.persistent_of<float>("x", in.x, ArenaKind::inputs),
                  g.persistent_of<float>("affine", in.affine, ArenaKind::parameters),
                  g.persistent_of<float>("running", in.running, ArenaKind::optimizer_state),
                  g.persistent("out", kChainCount * sizeof(float), ArenaKind::inputs)};
  build_chain(g, gt, [&](std::string name, uint64_t bytes) { return g.transient(std::move(name), bytes); });
  const graph::MemoryPlan& plan = g.compile();
  EXPECT_EQ(ctx.device_memory().bytes_in_use() - in_use_before, plan.total_bytes);
  uint64_t transient_sum = 0;
  for (const auto& t : plan.tensors)
    if (t.arena == ArenaKind::transient) transient_sum += t.bytes;
  EXPECT_LT(plan.arena(ArenaKind::transient).size, transient_sum) << graph::memory_report(plan);
  g.run();
  g.run();

  EXPECT_EQ(g.download(gt.out), p.download(pt.out));
  EXPECT_EQ(g.download(gt.running), p.download(pt.running));
}

// d0: a = relu(x)   d1: out1 = a   d2: c = 2x   d3: out2 = c
// c takes a's bytes, so d2 writes what d1 reads: a hazard only the resolved byte ranges show.
TEST(GpuGraph, PlannedAndFullBarriersAgreeOnReusedBytes) {
  const size_t n = 1001;
  const std::vector<float> x = grid_values(n, 21);
  std::vector<std::vector<float>> results;
  for (auto mode : {graph::SyncMode::planned, graph::SyncMode::full}) {
    Graph g(gpu());
    g.set_sync_mode(mode);
    TensorId tx = g.persistent_of<float>("x", x, ArenaKind::inputs);
    TensorId out1 = g.persistent("out1", n * 4, ArenaKind::inputs);
    TensorId out2 = g.persistent("out2", n * 4, ArenaKind::inputs);
    TensorId a = g.transient("a", n * 4);
    ops::relu_forward(g, tx, a, n);
    ops::copy(g, a, {out1, false}, n);
    TensorId c = g.transient("c", n * 4);
    ops::add(g, tx, tx, {c, false}, n);
    ops::copy(g, c, {out2, false}, n);
    const graph::MemoryPlan& plan = g.compile();
    EXPECT_EQ(placed(plan, "a").offset, placed(plan, "c").offset) << "the test needs a and c to share bytes";
    g.run();
    EXPECT_EQ(g.barrier_count(), 3u) << "d2 must wait for d1's read of the bytes it overwrites";
    std::vector<float> both = g.download(out1);
    for (float v : g.download(out2)) both.push_back(v);
    results.push_back(both);
  }
  EXPECT_EQ(results[0], results[1]);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(results[0][i], std::max(x[i], 0.0f)) << i;
    ASSERT_EQ(results[0][n + i], 2 * x[i]) << i;
  }
}

// One SGD step with a gradient computed through a transient: grad = relu(w) + x.
struct SgdStep {
  TensorId w, momentum, hyper;
};
constexpr uint64_t kStepCount = 50;

SgdStep build_sgd_step(Graph& g, std::span<const float> x) {
  SgdStep s{g.persistent("w", kStepCount * 4, ArenaKind::parameters),
            g.persistent("momentum", kStepCount * 4, ArenaKind::optimizer_state),
            g.persistent("hyper", sizeof(ops::SgdHyper), ArenaKind::inputs)};
  TensorId grad = g.persistent("grad", kStepCount * 4, ArenaKind::gradients);
  TensorId tx = g.persistent_of<float>("x", x, ArenaKind::inputs);
  TensorId relu = g.transient("relu", kStepCount * 4);
  ops::relu_forward(g, s.w, relu, kStepCount);
  ops::add(g, relu, tx, {grad, false}, kStepCount);
  ops::sgd_step(g, {.momentum = 0.9f, .weight_decay = 0.01f}, s.w, grad, s.momentum, s.hyper, kStepCount);
  return s;
}

void upload_hyper(Graph& g, TensorId hyper, int step) {
  const ops::SgdHyper h = ops::sgd_hyper(0.05f, step == 0);
  g.upload(hyper, h);
}

TEST(GpuGraph, ReplayingEqualsRecordingAfresh) {
  constexpr int steps = 20;
  const std::vector<float> x = grid_values(kStepCount, 31);
  const std::vector<float> w0 = grid_values(kStepCount, 32);
  const std::vector<float> zeros(kStepCount, 0.0f);

  Graph replayed(gpu());
  const SgdStep r = build_sgd_step(replayed, x);
  replayed.upload(r.w, w0);
  replayed.upload(r.momentum, zeros);
  for (int step = 0; step < steps; ++step) {
    upload_hyper(replayed, r.hyper, step);
    replayed.run();
  }

  std::vector<float> w = w0, momentum = zeros;
  for (int step = 0; step < steps; ++step) {
    Graph fresh(gpu());
    const SgdStep f = build_sgd_step(fresh, x);
    fresh.upload(f.w, w);
    fresh.upload(f.momentum, momentum);
    upload_hyper(fresh, f.hyper, step);
    fresh.run();
    w = fresh.download(f.w);
    momentum = fresh.download(f.momentum);
  }

  EXPECT_NE(w, w0);
  EXPECT_EQ(replayed.download(r.w), w);
  EXPECT_EQ(replayed.download(r.momentum), momentum);
}

// Parameters, gradients and momentum declared alike line up, so one SGD dispatch over the three
// arena views updates every parameter.
TEST(GpuGraph, ArenaViewUpdatesEveryParameterInOneDispatch) {
  const std::vector<float> p1 = grid_values(64, 41), p2 = grid_values(37, 42);
  const std::vector<float> g1 = grid_values(64, 43), g2 = grid_values(37, 44);
  const std::vector<float> m1(64, 0.0f), m2(37, 0.0f);
  Graph g(gpu());
  TensorId tp1 = g.persistent_of<float>("p1", p1, ArenaKind::parameters);
  TensorId tp2 = g.persistent_of<float>("p2", p2, ArenaKind::parameters);
  g.persistent_of<float>("g1", g1, ArenaKind::gradients);
  g.persistent_of<float>("g2", g2, ArenaKind::gradients);
  TensorId tm1 = g.persistent_of<float>("m1", m1, ArenaKind::optimizer_state);
  TensorId tm2 = g.persistent_of<float>("m2", m2, ArenaKind::optimizer_state);
  const ops::SgdHyper hyper = ops::sgd_hyper(0.5f, true);
  TensorId th = g.persistent_of<float>("hyper", hyper, ArenaKind::inputs);
  TensorId params = g.arena_view(ArenaKind::parameters);
  ops::sgd_step(g, {.momentum = 0.9f}, params, g.arena_view(ArenaKind::gradients),
                g.arena_view(ArenaKind::optimizer_state), th, g.bytes(params) / sizeof(float));
  const graph::MemoryPlan& plan = g.compile();
  EXPECT_EQ(g.dispatches().size(), 1u);
  EXPECT_EQ(placed(plan, "p2").offset, placed(plan, "g2").offset);
  EXPECT_EQ(placed(plan, "p2").offset, placed(plan, "m2").offset);
  g.run();

  // First step: the momentum buffer becomes the gradient and p -= lr * g, exact on the grid.
  auto expect_step = [&](TensorId param, TensorId momentum, const std::vector<float>& p,
                         const std::vector<float>& grad) {
    std::vector<float> want(p.size());
    for (size_t i = 0; i < p.size(); ++i) want[i] = p[i] - 0.5f * grad[i];
    EXPECT_EQ(g.download(param), want);
    EXPECT_EQ(g.download(momentum), grad);
  };
  expect_step(tp1, tm1, p1, g1);
  expect_step(tp2, tm2, p2, g2);
}

// What profiles total (vkres bench --model): each dispatch's phase, and the bytes of the tensors it
// binds, each counted once per direction however often it is bound.
TEST(GpuGraph, PhasesAndBoundBytesForProfiles) {
  Graph g(gpu());
  const uint64_t n = 70 * 13, bytes = n * sizeof(float);
  TensorId x = g.persistent("x", bytes, ArenaKind::inputs);
  TensorId sum = g.persistent("sum", bytes, ArenaKind::inputs);
  TensorId r = g.transient("r", bytes);
  ops::relu_forward(g, x, r, n);  // before any phase
  g.begin_phase("forward");
  g.begin_phase("backward");  // the empty "forward" gives way
  ops::add(g, r, x, {sum, false}, n);
  ops::add(g, r, r, {sum, true}, n);  // r bound twice; sum read and written
  g.begin_phase("optimizer");
  ASSERT_EQ(g.dispatches().size(), 3u);
  EXPECT_EQ(g.phase_of(0), "");
  EXPECT_EQ(g.phase_of(1), "backward");
  EXPECT_EQ(g.phase_of(2), "backward");
  EXPECT_EQ(g.bound_bytes(0), 2 * bytes);
  EXPECT_EQ(g.bound_bytes(1), 3 * bytes);
  EXPECT_EQ(g.bound_bytes(2), 3 * bytes);
}

TEST(GpuGraph, ImpossiblePlansThrowBeforeAllocating) {
  auto& ctx = gpu();
  const uint64_t in_use = ctx.device_memory().bytes_in_use();
  const uint64_t limit = ctx.limits().max_storage_buffer_range;
  {
    Graph g(ctx);
    const uint64_t bytes = limit + 1;
    ops::fill(g, g.transient("huge", bytes), bytes / sizeof(float), 0.0f);
    try {
      g.compile();
      ADD_FAILURE() << "a binding over maxStorageBufferRange was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::to_string(bytes)), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(std::to_string(limit)), std::string::npos) << e.what();
    }
    EXPECT_FALSE(g.compiled());
    EXPECT_EQ(ctx.device_memory().bytes_in_use(), in_use);
  }
  Graph g(ctx);
  TensorId x = g.persistent("x", 4096, ArenaKind::inputs);
  ops::relu_forward(g, x, g.transient("y", 4096), 1024);
  std::string message;
  try {
    g.compile(2048);
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_EQ(ctx.device_memory().bytes_in_use(), in_use);
  // The same Graph compiles once the budget allows it; the refusal named that plan's size.
  const uint64_t needed = g.compile().total_bytes;
  EXPECT_NE(message.find(std::to_string(needed)), std::string::npos) << message;
  EXPECT_NE(message.find("2048"), std::string::npos) << message;
  EXPECT_EQ(ctx.device_memory().bytes_in_use(), in_use + needed);
}

}  // namespace
}  // namespace vkres
