#include "graph/graph.hpp"

#include <algorithm>
#include <iterator>
#include <set>

#include <fmt/format.h>

#include "core/error.hpp"

namespace vkres::graph {
namespace {

size_t arena_index(ArenaKind kind) { return static_cast<size_t>(kind); }


}  // namespace

Graph::Graph(vk::Context& ctx) : ctx_(ctx) {}

Graph::~Graph() {
  recorded_.reset();  // the commands go before the memory they name
  release_arenas();
}

void Graph::release_arenas() {
  for (vk::Allocation& arena : arenas_) {
    if (arena) ctx_.device_memory().free(arena);
    arena = {};
  }
}

Graph::Tensor& Graph::tensor(TensorId t) {
  VKRES_ASSERT(t.index < tensors_.size(), "Graph: unknown tensor");
  return tensors_[t.index];
}

const Graph::Tensor& Graph::tensor(TensorId t) const {
  VKRES_ASSERT(t.index < tensors_.size(), "Graph: unknown tensor");
  return tensors_[t.index];
}

TensorId Graph::persistent(std::string name, uint64_t bytes, ArenaKind arena) {
  VKRES_ASSERT(!compiled(), "Graph: tensor " + name + " declared after compile()");
  VKRES_ASSERT(arena != ArenaKind::transient, "Graph: persistent tensor " + name + " in the transient arena");
  VKRES_ASSERT(!arena_views_[arena_index(arena)],
               fmt::format("Graph: tensor {} declared in arena {} after its arena_view", name, arena_name(arena)));
  // The planner packs persistent arenas in declaration order; tracking the end here lets a view
  // know its size while dispatches are still being built. Empty tensors take no bytes there.
  if (bytes > 0) {
    uint64_t& end = arena_end_[arena_index(arena)];
    end = align_up(end, memory_limits(ctx_.limits()).offset_alignment) + bytes;
  }
  tensors_.push_back({std::move(name), arena, bytes});
  return TensorId{static_cast<uint32_t>(tensors_.size() - 1)};
}

TensorId Graph::external(std::string name, const vk::Allocation& memory) {
  VKRES_ASSERT(!compiled(), "Graph: tensor " + name + " declared after compile()");
  VKRES_ASSERT(memory && memory.size > 0, "Graph: external tensor " + name + " has no memory");
  // The arena kind only tells the memory report and host access rules apart; it is never planned.
  Tensor t{std::move(name), ArenaKind::parameters, memory.size};
  t.external = true;
  t.memory = memory;
  tensors_.push_back(std::move(t));
  return TensorId{static_cast<uint32_t>(tensors_.size() - 1)};
}

TensorId Graph::transient(std::string name, uint64_t bytes) {
  VKRES_ASSERT(!compiled(), "Graph: tensor " + name + " declared after compile()");
  tensors_.push_back({std::move(name), ArenaKind::transient, bytes});
  return TensorId{static_cast<uint32_t>(tensors_.size() - 1)};
}

TensorId Graph::arena_view(ArenaKind arena) {
  VKRES_ASSERT(arena != ArenaKind::transient, "Graph: the transient arena has no view");
  std::optional<TensorId>& view = arena_views_[arena_index(arena)];
  if (!view) {
    VKRES_ASSERT(!compiled(), fmt::format("Graph: arena_view({}) after compile()", arena_name(arena)));
    tensors_.push_back({fmt::format("{} arena", arena_name(arena)), arena, arena_end_[arena_index(arena)], true});
    view = TensorId{static_cast<uint32_t>(tensors_.size() - 1)};
  }
  return *view;
}

void Graph::dispatch(Dispatch d) {
  VKRES_ASSERT(!compiled(), d.label + ": dispatch added after compile()");
  for (const Binding& b : d.bindings)
    VKRES_ASSERT(b.tensor.index < tensors_.size(), d.label + ": binding names an unknown tensor");
  note_uses(d, static_cast<uint32_t>(dispatches_.size()));
  dispatches_.push_back(std::move(d));
}

void Graph::begin_phase(std::string name) {
  VKRES_ASSERT(!compiled(), "Graph: begin_phase(" + name + ") after compile()");
  if (!phase_starts_.empty() && phase_starts_.back().first == dispatches_.size()) phase_starts_.pop_back();
  phase_starts_.emplace_back(dispatches_.size(), std::move(name));
}

const std::string& Graph::phase_of(size_t dispatch) const {
  static const std::string none;
  auto after = std::upper_bound(phase_starts_.begin(), phase_starts_.end(), dispatch,
                                [](size_t index, const auto& start) { return index < start.first; });
  return after == phase_starts_.begin() ? none : std::prev(after)->second;
}

uint64_t Graph::bound_bytes(size_t dispatch) const {
  std::set<std::pair<uint32_t, bool>> counted;  // (tensor, as written)
  uint64_t total = 0;
  for (const Binding& b : dispatches_.at(dispatch).bindings)
    for (const bool written : {false, true})
      if ((written ? writes(b.access) : reads(b.access)) && counted.insert({b.tensor.index, written}).second)
        total += tensors_[b.tensor.index].bytes;
  return total;
}

// A transient tensor's bytes hold another tensor's data until something writes them, so its first
// dispatch must not read it.
void Graph::note_uses(const Dispatch& d, uint32_t index) {
  for (const Binding& b : d.bindings) {
    Tensor& t = tensors_[b.tensor.index];
    if (t.arena != ArenaKind::transient) continue;
    if (!t.first_use) {
      for (const Binding& other : d.bindings) {
        VKRES_ASSERT(other.tensor != b.tensor || !reads(other.access),
                     fmt::format("{}: reads transient tensor {} before any dispatch writes it", d.label, t.name));
      }
      t.first_use = index;
    }
    t.last_use = index;
  }
}

std::vector<TensorRequest> Graph::memory_requests() const {
  std::vector<TensorRequest> requests;
  for (const Tensor& t : tensors_) {
    if (t.whole_arena || t.external) continue;
    VKRES_ASSERT(t.arena != ArenaKind::transient || t.first_use,
                 "Graph: transient tensor " + t.name + " is bound by no dispatch");
    requests.push_back({t.name, t.bytes, t.arena, t.first_use.value_or(0), t.last_use});
  }
  return requests;
}

void Graph::check_arena_views(const MemoryPlan& plan) const {
  for (const std::optional<TensorId>& view : arena_views_) {
    if (!view) continue;
    const Tensor& t = tensors_[view->index];
    VKRES_ASSERT(t.bytes == plan.arena(t.arena).size, "Graph: the planner laid out " + t.name + " differently");
    VKRES_ASSERT(t.bytes > 0, "Graph: view of the empty " + t.name);
    if (t.bytes > plan.limits.max_binding_bytes)
      throw Error(fmt::format("the {} needs {} bytes in one binding; the device allows {}", t.name, t.bytes,
                              plan.limits.max_binding_bytes),
                  "use a smaller model or split the optimizer step");
  }
}

// All or nothing, so that a failed compile() can be retried.
void Graph::allocate_arenas(const MemoryPlan& plan) {
  try {
    for (size_t k = 0; k < arena_kind_count; ++k) {
      const uint64_t size = plan.arenas[k].size;
      if (size > 0) arenas_[k] = ctx_.device_memory().allocate(size, plan.limits.offset_alignment);
    }
  } catch (...) {
    release_arenas();
    throw;
  }
}

// Plan entries follow the declaration order of the tensors they were requested for.
void Graph::place_tensors(const MemoryPlan& plan) {
  auto placed = plan.tensors.begin();
  for (Tensor& t : tensors_) {
    if (t.external) continue;
    const vk::Allocation& arena = arenas_[arena_index(t.arena)];
    t.memory = arena.sub(t.whole_arena ? 0 : placed->offset, t.bytes);
    if (!t.whole_arena) ++placed;
    if (!t.pending_upload.empty()) ctx_.upload(t.memory, t.pending_upload);
    t.pending_upload = {};
  }
}

void Graph::record() {
  auto resolve = [this](TensorId id) {
    const Tensor& t = tensors_[id.index];
    VKRES_ASSERT(t.memory.size > 0, "Graph: binding of the empty tensor " + t.name);
    return BufferRange{t.memory.buffer, t.memory.offset, t.memory.size};
  };
  recorded_ = std::make_unique<RecordedCommands>(ctx_, dispatches_, resolve, options_);
}

MemoryPlan Graph::plan_only(std::optional<uint64_t> budget) const {
  if (!budget) {
    const vk::MemoryPool& pool = ctx_.device_memory();
    budget = pool.heap_size() > pool.bytes_in_use() ? pool.heap_size() - pool.bytes_in_use() : 0;
  }
  MemoryPlan plan = plan_memory(memory_requests(), memory_limits(ctx_.limits(), budget));
  check_arena_views(plan);
  return plan;
}

const MemoryPlan& Graph::compile(std::optional<uint64_t> budget) {
  VKRES_ASSERT(!compiled(), "Graph: compile() called twice");
  MemoryPlan plan = plan_only(budget);
  allocate_arenas(plan);
  place_tensors(plan);
  plan_ = std::move(plan);
  record();
  return *plan_;
}

const MemoryPlan& Graph::plan() const {
  VKRES_ASSERT(compiled(), "Graph: plan() before compile()");
  return *plan_;
}

void Graph::run() {
  if (!compiled()) compile();
  if (!recorded_) record();
  recorded_->run();
}

Graph::Tensor& Graph::host_accessible(TensorId id, const char* what) {
  Tensor& t = tensor(id);
  VKRES_ASSERT(t.arena != ArenaKind::transient,
               fmt::format("Graph: {} transient tensor {}: its bytes are shared with other tensors", what, t.name));
  return t;
}

void Graph::upload_bytes(TensorId id, std::span<const std::byte> bytes) {
  Tensor& t = host_accessible(id, "upload to");
  VKRES_ASSERT(bytes.size() <= t.bytes, "Graph: upload larger than tensor " + t.name);
  if (compiled()) {
    ctx_.upload(t.memory, bytes);
    return;
  }
  // A view's bytes are its arena's tensors' bytes: keeping both uploads would make their order matter.
  VKRES_ASSERT(!t.whole_arena, "Graph: upload to " + t.name + " before compile()");
  t.pending_upload.assign(bytes.begin(), bytes.end());
}

void Graph::download_bytes(TensorId id, std::span<std::byte> bytes) {
  Tensor& t = host_accessible(id, "download from");
  VKRES_ASSERT(compiled(), "Graph: download from " + t.name + " before compile()");
  VKRES_ASSERT(bytes.size() <= t.bytes, "Graph: download larger than tensor " + t.name);
  ctx_.download(t.memory, bytes);
}

uint64_t Graph::bytes(TensorId t) const { return tensor(t).bytes; }

void Graph::rerecord() {
  if (!compiled()) return;  // run() compiles and records
  recorded_.reset();  // its command buffers go before the new ones are made
  record();
}

void Graph::set_sync_mode(SyncMode m) {
  options_.sync = m;
  recorded_.reset();
}

void Graph::set_profiling(bool on) {
  options_.profiling = on;
  recorded_.reset();
}

std::vector<double> Graph::dispatch_ms() const {
  return recorded_ ? recorded_->dispatch_ms() : std::vector<double>{};
}

size_t Graph::barrier_count() const { return recorded_ ? recorded_->barrier_count() : 0; }

}  // namespace vkres::graph
