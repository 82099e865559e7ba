#include "train/trainer.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>

#include <nlohmann/json.hpp>

#include "ckpt/checkpoint.hpp"
#include "ckpt/state_dict_io.hpp"
#include "core/error.hpp"
#include "data/loader.hpp"
#include "data/sampler.hpp"
#include "train/init.hpp"
#include "train/metrics_log.hpp"
#include "train/progress.hpp"

namespace vkres::train {
namespace {

std::atomic<bool> g_interrupted{false};

// The first Ctrl-C finishes the step in flight and saves; a second one kills as usual.
extern "C" void on_interrupt(int) {
  g_interrupted = true;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted = false;
    previous_int_ = std::signal(SIGINT, on_interrupt);
    previous_term_ = std::signal(SIGTERM, on_interrupt);
  }
  ~InterruptGuard() {
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
  }

 private:
  void (*previous_int_)(int);
  void (*previous_term_)(int);
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void write_run_json(const std::filesystem::path& out, const RunConfig& config, int64_t steps_per_epoch,
                    int64_t total_steps) {
  nlohmann::json j = to_json(config);
  j["model_name"] = config.model.name;
  j["steps_per_epoch"] = steps_per_epoch;
  j["total_steps"] = total_steps;
  const std::filesystem::path path = out / "run.json", temp = out / "run.json.tmp";
  {
    std::ofstream f(temp);
    f << j.dump(2) << '\n';
    if (!f) throw Error(fmt::format("{}: cannot write", temp.string()));
  }
  std::filesystem::rename(temp, path);
}

// The run: model and optimizer state on the device, the data, and where it stands.
class Run {
 public:
  Run(vk::Context& ctx, const TrainOptions& options, RunConfig config, const io::SafetensorsFile* resume_from)
      : options_(options),
        config_(std::move(config)),
        spec_(nn::describe_model(config_.model)),
        state_(ctx, spec_),
        train_set_(data::open_dataset(config_.data, data::Split::Train, 0, {.image_size = config_.model.input.h})),
        assembler_(*train_set_, config_.normalization, data::AugmentOptions{.enabled = config_.augment}, config_.seed),
        sampler_(train_set_->size(), {.batch_size = size_t(config_.batch),
                                      .shuffle = config_.shuffle,
                                      .drop_last = true,
                                      .seed = config_.seed}),
        steps_per_epoch_(int64_t(sampler_.num_batches())),
        total_steps_(config_.total_steps(steps_per_epoch_)),
        progress_(options.progress) {
    check_dataset(*train_set_);
    if (options.evaluate) {
      test_set_ = data::open_dataset(config_.data, data::Split::Test, 0, {.image_size = config_.model.input.h});
      check_dataset(*test_set_);
    }
    if (options.before_graphs) options.before_graphs(spec_, config_.batch);
    step_.emplace(state_, config_.batch, config_.sgd);
    step_->compile();
    if (resume_from) {
      restore_training_state(*resume_from, state_, *step_);
      position_ = read_run_position(*resume_from);
    } else if (options.init) {
      const ckpt::LoadReport report = ckpt::load_model_state(state_, ckpt::open_checkpoint(*options.init));
      if (!report.unexpected.empty())
        progress_.message(fmt::format("vkres: warning: {}: ignored tensors the model does not have: {}",
                                      options.init->string(), fmt::join(report.unexpected, ", ")));
    } else {
      state_.load(initial_values(spec_, config_.seed));
    }
    if (options.evaluate)
      evaluator_.emplace(state_, *test_set_, config_.normalization, config_.batch, 0, options.workers);
  }

  TrainResult run() {
    std::filesystem::create_directories(options_.out);
    write_run_json(options_.out, config_, steps_per_epoch_, total_steps_);
    MetricsLog log(options_.out);
    InterruptGuard guard;
    const auto start = Clock::now();
    const int64_t first_step = position_.step;
    double ema_ips = 0;
    TrainResult result;
    bool saved_here = true;  // the state on disk is the state in memory

    progress_.info(fmt::format("vkres: training {} on {} ({} images, {} steps per epoch), batch {}, {} steps{}",
                                  config_.model.name, train_set_->name(), train_set_->size(), steps_per_epoch_,
                                  config_.batch, total_steps_,
                                  position_.step > 0 ? fmt::format(", resuming at step {}", position_.step) : ""));
    while (position_.step < total_steps_) {
      data::Loader loader(assembler_, sampler_, uint64_t(position_.epoch),
                          {.workers = options_.workers, .first_batch = size_t(position_.epoch_batch)});
      data::Batch batch;
      while (position_.step < total_steps_ && loader.next(batch)) {
        const auto step_start = Clock::now();
        const double lr = config_.schedule.lr(config_.lr, position_.step, steps_per_epoch_, total_steps_);
        step_->set_batch(batch.images, batch.labels);
        const nn::BatchMetrics m = step_->step(float(lr));
        if (!std::isfinite(m.loss))
          return diverged(fmt::format("the loss became {} at step {}", m.loss, position_.step + 1), result);
        saved_here = false;
        ++position_.step;
        ++position_.epoch_batch;
        position_.epoch_loss_sum += m.loss * double(batch.n);
        position_.epoch_correct += m.correct_top1;
        position_.epoch_images += batch.n;
        const double ips = double(batch.n) / seconds_since(step_start);
        ema_ips = ema_ips == 0 ? ips : 0.9 * ema_ips + 0.1 * ips;
        const double time_s = position_.time_s + seconds_since(start);
        log.write(StepRecord{position_.epoch + 1, position_.step, lr, m.loss,
                             double(m.correct_top1) / double(batch.n), ips, time_s});
        progress_.update({.epoch = position_.epoch + 1,
                          .epochs = (total_steps_ + steps_per_epoch_ - 1) / steps_per_epoch_,
                          .batch = position_.epoch_batch,
                          .batches = steps_per_epoch_,
                          .step = position_.step,
                          .total_steps = total_steps_,
                          .loss = m.loss,
                          .top1 = double(m.correct_top1) / double(batch.n),
                          .images_per_s = ema_ips,
                          .eta_s = double(total_steps_ - position_.step) * config_.batch / ema_ips});
        if (position_.epoch_batch == steps_per_epoch_) {
          if (!end_epoch(log, lr, start, result)) return result;
          saved_here = true;
        } else if (options_.save_every > 0 && position_.step % options_.save_every == 0) {
          if (!save(start, result)) return result;
          saved_here = true;
        }
        if (g_interrupted) {
          if (!saved_here && !save(start, result)) return result;
          progress_.message(fmt::format("vkres: interrupted at step {}; resume with --resume {}", position_.step,
                                        options_.out.string()));
          result.end = RunEnd::interrupted;
          return finish(result, first_step, start);
        }
      }
    }
    if (!saved_here && !save(start, result)) return result;
    return finish(result, first_step, start);
  }

 private:
  void check_dataset(const data::Dataset& set) const {
    if (set.height() != config_.model.input.h || set.width() != config_.model.input.w)
      throw Error(fmt::format("{} has {}x{} images but {} takes {}x{}", set.name(), set.height(), set.width(),
                              config_.model.name, config_.model.input.h, config_.model.input.w),
                  "set the model's input size with --input HxW");
    if (set.num_classes() > config_.model.num_classes)
      throw Error(fmt::format("{} has {} classes but {} has {} outputs", set.name(), set.num_classes(),
                              config_.model.name, config_.model.num_classes),
                  fmt::format("use --num-classes {}", set.num_classes()));
  }

  [[nodiscard]] bool end_epoch(MetricsLog& log, double lr, Clock::time_point start, TrainResult& result) {
    EpochRecord r;
    r.epoch = position_.epoch + 1;
    r.step = position_.step;
    r.lr = lr;
    r.train_loss = position_.epoch_loss_sum / double(position_.epoch_images);
    r.train_top1 = double(position_.epoch_correct) / double(position_.epoch_images);
    std::string test;
    if (evaluator_) {
      const EvalResult e = evaluator_->run();
      r.test_loss = e.loss;
      r.test_top1 = e.top1();
      r.test_top5 = e.top5();
      result.last_test = e;
      test = fmt::format("  test loss {:.4f}  top-1 {:.2f}%  top-5 {:.2f}%", e.loss, 100 * e.top1(), 100 * e.top5());
    }
    r.time_s = position_.time_s + seconds_since(start);
    log.write(r);
    progress_.info(fmt::format("epoch {}  train loss {:.4f}  acc {:.2f}%{}", r.epoch, r.train_loss,
                                  100 * r.train_top1, test));
    position_.epoch += 1;
    position_.epoch_batch = 0;
    position_.epoch_loss_sum = 0;
    position_.epoch_correct = position_.epoch_images = 0;
    return save(start, result);
  }

  // False when the state is no longer finite: then nothing is written.
  [[nodiscard]] bool save(Clock::time_point start, TrainResult& result) {
    RunPosition p = position_;
    p.time_s += seconds_since(start);
    const std::filesystem::path path = ckpt::checkpoint_path(options_.out, position_.step);
    if (const auto bad = save_training_checkpoint(path, state_, *step_, config_, p)) {
      diverged(fmt::format("{} holds NaN or infinite values after step {}", *bad, position_.step), result);
      return false;
    }
    ckpt::keep_last(options_.out, options_.keep);
    result.last_checkpoint = path;
    return true;
  }

  TrainResult& diverged(const std::string& what, TrainResult& result) {
    progress_.message(fmt::format(
        "vkres: error: {} (epoch {}); stopped without saving. {}", what, position_.epoch + 1,
        result.last_checkpoint ? "The last good checkpoint is " + result.last_checkpoint->string()
                               : std::string("No checkpoint was written by this run.")));
    result.end = RunEnd::diverged;
    result.steps = position_.step;
    return result;
  }

  TrainResult finish(TrainResult& result, int64_t first_step, Clock::time_point start) {
    result.steps = position_.step;
    const double seconds = seconds_since(start);
    if (seconds > 0) result.images_per_s = double(position_.step - first_step) * config_.batch / seconds;
    return result;
  }

  const TrainOptions& options_;
  RunConfig config_;
  nn::ModelSpec spec_;
  nn::ModelState state_;
  std::optional<nn::TrainingStep> step_;  // built once the datasets are open and the kernels tuned
  std::unique_ptr<data::Dataset> train_set_, test_set_;
  data::BatchAssembler assembler_;
  data::EpochSampler sampler_;
  int64_t steps_per_epoch_, total_steps_;
  Progress progress_;
  std::optional<Evaluator> evaluator_;
  RunPosition position_;
};

}  // namespace

TrainResult train(vk::Context& ctx, const TrainOptions& options) {
  if (options.resume) {
    const io::SafetensorsFile file = ckpt::open_checkpoint(*options.resume);
    RunConfig config = options.config;  // the caller merged the file's settings and its own limits
    return Run(ctx, options, std::move(config), &file).run();
  }
  return Run(ctx, options, options.config, nullptr).run();
}

}  // namespace vkres::train
