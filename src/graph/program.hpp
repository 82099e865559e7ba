// A recorded sequence of dispatches over eagerly allocated tensors: the simplest OpSink. Ops are
// built into it, the first run() records one command buffer (graph::RecordedCommands), and every
// later run() replays it.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "graph/barrier_planner.hpp"
#include "graph/dispatch.hpp"
#include "graph/recorder.hpp"
#include "vk/context.hpp"

namespace vkres::graph {

class Program : public OpSink {
 public:
  explicit Program(vk::Context& ctx);
  ~Program() override;
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  TensorId tensor(uint64_t bytes, std::string name);
  TensorId tensor(std::span<const float> values, std::string name) { return tensor_of<float>(values, std::move(name)); }
  // A tensor of any 4-byte element type (labels are int32), initialised from `values`.
  template <class T>
  TensorId tensor_of(std::span<const T> values, std::string name) {
    TensorId t = tensor(values.size_bytes(), std::move(name));
    upload_bytes(t, std::as_bytes(values));
    return t;
  }
  TensorId scratch(uint64_t bytes, std::string name) override;
  void dispatch(Dispatch d) override;
  const vk::DeviceLimits& limits() const override { return ctx_.limits(); }
  // The context's tuned choices unless set_kernel_choices() replaced them (the autotuner forcing
  // one candidate); `choices` must outlive the dispatches built with it.
  const vk::KernelChoices* kernel_choices() const override {
    return choices_override_ ? choices_override_ : &ctx_.kernel_choices();
  }
  void set_kernel_choices(const vk::KernelChoices* choices) { choices_override_ = choices; }

  void upload(TensorId t, std::span<const float> values) { upload_bytes(t, std::as_bytes(values)); }
  void upload_bytes(TensorId t, std::span<const std::byte> bytes);
  std::vector<float> download(TensorId t) { return download_as<float>(t); }
  template <class T>
  std::vector<T> download_as(TensorId t) {
    std::vector<T> v(bytes(t) / sizeof(T));
    download_bytes(t, std::as_writable_bytes(std::span(v)));
    return v;
  }
  void download_bytes(TensorId t, std::span<std::byte> bytes);
  uint64_t bytes(TensorId t) const;

  void set_sync_mode(SyncMode m);
  // Records timestamps around every dispatch (where the device has them) and forces full sync so
  // each dispatch's time is its own.
  void set_profiling(bool on);

  void run();
  // Drops the recorded dispatches but keeps the tensors and their contents (e.g. after a set-up run).
  void clear_dispatches();
  // GPU milliseconds of each dispatch in the last run (empty without profiling or timestamps).
  std::vector<double> dispatch_ms() const;
  const std::vector<Dispatch>& dispatches() const { return dispatches_; }
  size_t barrier_count() const;

 private:
  struct Tensor {
    vk::Allocation alloc;
    std::string name;
  };
  BufferRange range(TensorId t) const;

  vk::Context& ctx_;
  const vk::KernelChoices* choices_override_ = nullptr;
  std::vector<Tensor> tensors_;
  std::vector<Dispatch> dispatches_;
  RecordOptions options_;
  std::unique_ptr<RecordedCommands> recorded_;  // null until run(), and again after any change
};

}  // namespace vkres::graph
