// Learning-rate schedules. A schedule is a pure function of the global step (and the steps per
// epoch), so a resumed run sees exactly the learning rates of an uninterrupted one.
//
//   constant         lr
//   paper            He et al.'s CIFAR recipe: lr / 10 at 32k and again at 48k iterations; the
//                    run stops at 64k unless --max-steps or --epochs say otherwise
//   step:E1,E2,...   lr / 10 at the start of each listed epoch (1-based: "step:81,122")
//   cosine           half a cosine from lr to 0 over the whole run
// A warm-up of W steps comes first: `linear` ramps from lr/W to lr; `constant` holds lr/10 (the
// paper's 0.01 start for ResNet-110 at lr 0.1) then switches to the schedule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vkres::train {

enum class ScheduleKind { constant, paper, step, cosine };
enum class WarmupKind { linear, constant };

struct Schedule {
  ScheduleKind kind = ScheduleKind::constant;
  std::vector<int64_t> decay_epochs;  // step: 1-based epochs at whose start lr drops 10x
  int64_t warmup_steps = 0;
  WarmupKind warmup = WarmupKind::linear;

  // The paper schedule's own length, used when neither --epochs nor --max-steps is given.
  static constexpr int64_t kPaperSteps = 64000;

  // lr at global step `step` (0-based: the step about to run) of a run of `total_steps`.
  double lr(double base_lr, int64_t step, int64_t steps_per_epoch, int64_t total_steps) const;
  std::string describe() const;  // as --schedule takes it: "step:81,122"
};

// Throws vkres::Error naming --schedule (or --warmup) and what is wrong.
Schedule parse_schedule(std::string_view text);
WarmupKind parse_warmup_kind(std::string_view text);
const char* warmup_kind_name(WarmupKind kind);

}  // namespace vkres::train
