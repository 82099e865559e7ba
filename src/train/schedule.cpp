#include "train/schedule.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <numbers>

#include "core/error.hpp"

namespace vkres::train {

double Schedule::lr(double base_lr, int64_t step, int64_t steps_per_epoch, int64_t total_steps) const {
  if (step < warmup_steps)
    return warmup == WarmupKind::constant ? base_lr / 10 : base_lr * double(step + 1) / double(warmup_steps);
  switch (kind) {
    case ScheduleKind::constant:
      return base_lr;
    case ScheduleKind::paper:
      return base_lr * (step >= 48000 ? 0.01 : step >= 32000 ? 0.1 : 1.0);
    case ScheduleKind::step: {
      const int64_t epoch = step / steps_per_epoch + 1;  // 1-based epoch this step belongs to
      double lr = base_lr;
      for (int64_t e : decay_epochs)
        if (epoch >= e) lr /= 10;
      return lr;
    }
    case ScheduleKind::cosine: {
      const int64_t span = std::max<int64_t>(1, total_steps - warmup_steps);
      const double t = double(step - warmup_steps) / double(span);
      return base_lr * 0.5 * (1 + std::cos(std::numbers::pi * std::min(1.0, t)));
    }
  }
  return base_lr;
}

std::string Schedule::describe() const {
  switch (kind) {
    case ScheduleKind::constant:
      return "constant";
    case ScheduleKind::paper:
      return "paper";
    case ScheduleKind::cosine:
      return "cosine";
    case ScheduleKind::step:
      return fmt::format("step:{}", fmt::join(decay_epochs, ","));
  }
  return "?";
}

Schedule parse_schedule(std::string_view text) {
  Schedule s;
  if (text == "constant") return s;
  if (text == "paper") {
    s.kind = ScheduleKind::paper;
    return s;
  }
  if (text == "cosine") {
    s.kind = ScheduleKind::cosine;
    return s;
  }
  if (text.starts_with("step:")) {
    s.kind = ScheduleKind::step;
    std::string_view rest = text.substr(5);
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      int64_t epoch = 0;
      const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), epoch);
      if (ec != std::errc() || end != item.data() + item.size() || epoch < 1)
        throw Error(fmt::format("--schedule {}: '{}' is not an epoch number (1 or more)", text, item));
      if (!s.decay_epochs.empty() && epoch <= s.decay_epochs.back())
        throw Error(fmt::format("--schedule {}: epochs must increase", text));
      s.decay_epochs.push_back(epoch);
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    if (s.decay_epochs.empty()) throw Error(fmt::format("--schedule {}: no epochs after 'step:'", text));
    return s;
  }
  throw Error(fmt::format("--schedule: unknown schedule '{}'", text),
              "one of constant, paper, step:E1,E2,..., cosine");
}

WarmupKind parse_warmup_kind(std::string_view text) {
  if (text == "linear") return WarmupKind::linear;
  if (text == "constant") return WarmupKind::constant;
  throw Error(fmt::format("--warmup-mode: unknown mode '{}'", text), "linear or constant");
}

const char* warmup_kind_name(WarmupKind kind) { return kind == WarmupKind::constant ? "constant" : "linear"; }

}  // namespace vkres::train
