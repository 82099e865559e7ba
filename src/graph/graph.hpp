// The executor of a training step: an OpSink whose tensors are symbolic until compile(), placed by
// the memory planner, recorded once and replayed on every run().
//
// Persistent tensors (parameters, gradients, optimizer state, inputs) keep their bytes for the
// Graph's lifetime, each arena packed in declaration order. Transient tensors (activations, op
// scratch) live from the first dispatch that binds them to the last and share bytes with tensors
// whose lifetimes do not overlap; barriers are planned on the resolved byte ranges, so reusing
// bytes orders dispatches like any other hazard.
//
// Build (declare tensors, add dispatches), compile() once, then upload / run / download. Nothing
// can be declared or dispatched after compile(): the plan would change under the recorded commands.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "graph/dispatch.hpp"
#include "graph/memory_planner.hpp"
#include "graph/recorder.hpp"
#include "vk/context.hpp"

namespace vkres::graph {

class Graph : public OpSink {
 public:
  explicit Graph(vk::Context& ctx);
  ~Graph() override;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  TensorId persistent(std::string name, uint64_t bytes, ArenaKind arena);
  // A persistent tensor of any 4-byte element type, uploaded with `values` when compile() allocates.
  template <class T>
  TensorId persistent_of(std::string name, std::span<const T> values, ArenaKind arena) {
    TensorId t = persistent(std::move(name), values.size_bytes(), arena);
    upload_bytes(t, std::as_bytes(values));
    return t;
  }
  // A tensor whose bytes someone else owns (a ModelState's parameters, shared by the training and
  // the evaluation graph): never planned or freed here, but bound, uploaded and downloaded like a
  // persistent one, and its byte range takes part in barrier planning.
  TensorId external(std::string name, const vk::Allocation& memory);
  TensorId transient(std::string name, uint64_t bytes);
  TensorId scratch(uint64_t bytes, std::string name) override { return transient(std::move(name), bytes); }
  // The whole of a persistent arena as one tensor, alignment padding included, so that one dispatch
  // can run over every tensor of the arena (the optimizer over all parameters). Declared after the
  // arena's last tensor: the arena cannot grow once viewed.
  TensorId arena_view(ArenaKind arena);
  void dispatch(Dispatch d) override;
  const vk::DeviceLimits& limits() const override { return ctx_.limits(); }
  const vk::KernelChoices* kernel_choices() const override { return &ctx_.kernel_choices(); }
  bool builds_training() const override { return training_; }
  // Before the first dispatch: see OpSink::builds_training.
  void set_training(bool on) { training_ = on; }

  // The plan compile() would make, without allocating anything. `budget` defaults to the device
  // memory not yet in use in the heap the arenas come from. Throws vkres::Error, naming the planned
  // size and the limit, when the plan is impossible (a binding or an arena too large, over budget).
  MemoryPlan plan_only(std::optional<uint64_t> budget = std::nullopt) const;
  // Plans memory, allocates one block per non-empty arena and records; throws as plan_only() does
  // before allocating anything, and the Graph may then be compiled again, e.g. with a larger budget.
  const MemoryPlan& compile(std::optional<uint64_t> budget = std::nullopt);
  bool compiled() const { return plan_.has_value(); }
  const MemoryPlan& plan() const;
  // Compiles on first use.
  void run();

  // Persistent tensors and arena views only: transient bytes belong to several tensors. Uploads
  // before compile() are kept and applied when it allocates; downloads need a compiled Graph.
  void upload_bytes(TensorId t, std::span<const std::byte> bytes);
  void upload(TensorId t, std::span<const float> values) { upload_bytes(t, std::as_bytes(values)); }
  template <class T>
  void upload_as(TensorId t, std::span<const T> values) {
    upload_bytes(t, std::as_bytes(values));
  }
  void download_bytes(TensorId t, std::span<std::byte> bytes);
  std::vector<float> download(TensorId t) { return download_as<float>(t); }
  template <class T>
  std::vector<T> download_as(TensorId t) {
    std::vector<T> v(bytes(t) / sizeof(T));
    download_bytes(t, std::as_writable_bytes(std::span(v)));
    return v;
  }
  uint64_t bytes(TensorId t) const;

  // Records the command buffers anew (same dispatches, same memory); the next run() uses them.
  void rerecord();
  void set_sync_mode(SyncMode m);
  void set_profiling(bool on);
  // GPU milliseconds of each dispatch in the last run (empty without profiling or timestamps).
  std::vector<double> dispatch_ms() const;
  const std::vector<Dispatch>& dispatches() const { return dispatches_; }
  // Names the part of the work that the dispatches added from now on belong to ("forward",
  // "backward", "optimizer"), so that profiles can total each part; "" before the first call.
  void begin_phase(std::string name);
  const std::string& phase_of(size_t dispatch) const;
  // The bytes of the tensors bound to a dispatch, each tensor read counted once and each tensor
  // written once: the traffic a kernel that touches every bound byte once would need, for GB/s.
  uint64_t bound_bytes(size_t dispatch) const;
  size_t barrier_count() const;

 private:
  struct Tensor {
    std::string name;
    ArenaKind arena = ArenaKind::transient;
    uint64_t bytes = 0;
    bool whole_arena = false;  // an arena_view
    bool external = false;     // bytes owned outside the Graph
    // Dispatch indices of the first and last binding; transient tensors only.
    std::optional<uint32_t> first_use;
    uint32_t last_use = 0;
    std::vector<std::byte> pending_upload;  // uploaded before compile()
    vk::Allocation memory;                  // the tensor's bytes inside its arena, once compiled
  };

  Tensor& tensor(TensorId t);
  const Tensor& tensor(TensorId t) const;
  Tensor& host_accessible(TensorId t, const char* what);
  void note_uses(const Dispatch& d, uint32_t index);
  std::vector<TensorRequest> memory_requests() const;
  void check_arena_views(const MemoryPlan& plan) const;
  void allocate_arenas(const MemoryPlan& plan);
  void release_arenas();
  void place_tensors(const MemoryPlan& plan);
  void record();

  vk::Context& ctx_;
  std::vector<Tensor> tensors_;
  std::vector<Dispatch> dispatches_;
  std::vector<std::pair<size_t, std::string>> phase_starts_;  // (first dispatch, phase name), in order
  // The end of each persistent arena's last tensor, as the planner will place it.
  std::array<uint64_t, arena_kind_count> arena_end_{};
  std::array<std::optional<TensorId>, arena_kind_count> arena_views_{};
  std::optional<MemoryPlan> plan_;
  std::array<vk::Allocation, arena_kind_count> arenas_{};
  RecordOptions options_;
  bool training_ = false;
  std::unique_ptr<RecordedCommands> recorded_;  // null until compiled, and after a sync/profiling change
};

}  // namespace vkres::graph
