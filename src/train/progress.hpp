// Progress of a training run on stderr. On a terminal: one line redrawn in place
//   epoch 3/10 [########------------] 45/78  step 201  loss 0.532  acc 82.1%  41.2 img/s  ETA 3m12s
// and kept at the end of each epoch. Elsewhere (a log file, CI): the same as plain lines, at most
// one every `interval` seconds, plus one per epoch.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vkres::train {

struct ProgressState {
  int64_t epoch = 0, epochs = 0;  // 1-based epoch; epochs 0 when the run is bounded by steps only
  int64_t batch = 0, batches = 0;  // batches done in this epoch, out of
  int64_t step = 0, total_steps = 0;
  double loss = 0, top1 = 0, images_per_s = 0;
  double eta_s = -1;  // unknown until a few steps were timed
};

class Progress {
 public:
  explicit Progress(bool enabled, double interval_s = 10.0);
  void update(const ProgressState& s);
  // Ends the in-place line (if any) and prints `line` on its own: warnings and errors, always.
  void message(const std::string& line);
  // The same for progress news (the run's start, each epoch's summary): not when disabled.
  void info(const std::string& line) {
    if (enabled_) message(line);
  }

 private:
  std::string render(const ProgressState& s) const;

  bool enabled_, tty_;
  double interval_s_;
  bool line_open_ = false;
  std::chrono::steady_clock::time_point last_print_{};
};

std::string format_duration(double seconds);  // "3m12s", "1h04m", "9s"

}  // namespace vkres::train
