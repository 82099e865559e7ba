#include "train/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace vkres::train {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = int64_t(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

Progress::Progress(bool enabled, double interval_s)
    : enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0), interval_s_(interval_s) {}

std::string Progress::render(const ProgressState& s) const {
  constexpr int kWidth = 20;
  const int filled = s.batches > 0 ? int(kWidth * s.batch / s.batches) : 0;
  const std::string bar = std::string(size_t(filled), '#') + std::string(size_t(kWidth - filled), '-');
  const std::string epoch = s.epochs > 0 ? fmt::format("epoch {}/{}", s.epoch, s.epochs) : fmt::format("epoch {}", s.epoch);
  return fmt::format("{} [{}] {}/{}  step {}/{}  loss {:.4f}  acc {:.1f}%  {:.1f} img/s  ETA {}", epoch, bar,
                     s.batch, s.batches, s.step, s.total_steps, s.loss, 100.0 * s.top1, s.images_per_s,
                     format_duration(s.eta_s));
}

void Progress::update(const ProgressState& s) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool epoch_end = s.batch == s.batches;
  if (tty_) {
    std::fprintf(stderr, "\r%s\x1b[K", render(s).c_str());
    line_open_ = true;
    if (epoch_end) {
      std::fputc('\n', stderr);
      line_open_ = false;
    }
  } else if (epoch_end || std::chrono::duration<double>(now - last_print_).count() >= interval_s_) {
    std::fprintf(stderr, "%s\n", render(s).c_str());
    last_print_ = now;
  }
  std::fflush(stderr);
}

void Progress::message(const std::string& line) {
  if (line_open_) std::fputc('\n', stderr);
  line_open_ = false;
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace vkres::train
