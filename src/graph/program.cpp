#include "graph/program.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace vkres::graph {

std::array<uint32_t, 3> grid_1d(uint64_t groups, const vk::DeviceLimits& limits) {
  const uint64_t max_x = limits.max_workgroup_count[0];
  const uint64_t x = std::max<uint64_t>(1, std::min(groups, max_x));
  const uint64_t y = ceil_div(groups, x);
  VKRES_ASSERT(y <= limits.max_workgroup_count[1], fmt::format("{} workgroups do not fit the device grid", groups));
  return {static_cast<uint32_t>(x), static_cast<uint32_t>(y), 1};
}

Program::Program(vk::Context& ctx) : ctx_(ctx) {}

Program::~Program() {
  recorded_.reset();  // the commands go before the memory they name
  for (auto& t : tensors_) ctx_.device_memory().free(t.alloc);
}

TensorId Program::tensor(uint64_t bytes, std::string name) {
  const auto& l = ctx_.limits();
  if (bytes > l.max_storage_buffer_range)
    throw Error(fmt::format("tensor {} needs {} bytes in one binding; the device allows {}", name, bytes,
                            l.max_storage_buffer_range),
                "use a smaller batch size");
  vk::Allocation a = ctx_.device_memory().allocate(bytes, vk::tensor_offset_alignment(l));
  tensors_.push_back({a, std::move(name)});
  return TensorId{static_cast<uint32_t>(tensors_.size() - 1)};
}

TensorId Program::scratch(uint64_t bytes, std::string name) { return tensor(bytes, std::move(name)); }

void Program::dispatch(Dispatch d) {
  for (const auto& b : d.bindings)
    VKRES_ASSERT(b.tensor.index < tensors_.size(), d.label + ": binding names an unknown tensor");
  dispatches_.push_back(std::move(d));
  recorded_.reset();
}

uint64_t Program::bytes(TensorId t) const { return tensors_.at(t.index).alloc.size; }

void Program::upload_bytes(TensorId t, std::span<const std::byte> bytes) {
  const auto& a = tensors_.at(t.index).alloc;
  VKRES_ASSERT(bytes.size() <= a.size, "upload larger than tensor " + tensors_[t.index].name);
  ctx_.upload(a, bytes);
}

void Program::download_bytes(TensorId t, std::span<std::byte> bytes) {
  const auto& a = tensors_.at(t.index).alloc;
  VKRES_ASSERT(bytes.size() <= a.size, "download larger than tensor " + tensors_[t.index].name);
  ctx_.download(a, bytes);
}

BufferRange Program::range(TensorId t) const {
  const vk::Allocation& a = tensors_[t.index].alloc;
  return {a.buffer, a.offset, a.size};
}

void Program::set_sync_mode(SyncMode m) {
  options_.sync = m;
  recorded_.reset();
}

void Program::set_profiling(bool on) {
  options_.profiling = on;
  recorded_.reset();
}

size_t Program::barrier_count() const { return recorded_ ? recorded_->barrier_count() : 0; }

void Program::run() {
  if (!recorded_)
    recorded_ = std::make_unique<RecordedCommands>(ctx_, dispatches_, [this](TensorId t) { return range(t); },
                                                   options_);
  recorded_->run();
}

void Program::clear_dispatches() {
  dispatches_.clear();
  recorded_.reset();
}

std::vector<double> Program::dispatch_ms() const {
  return recorded_ ? recorded_->dispatch_ms() : std::vector<double>{};
}

}  // namespace vkres::graph
