// vkres train: parse the flags into a RunConfig (or take it from the checkpoint being resumed),
// refuse anything that would lose data or silently change a resumed run, then run.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "ckpt/checkpoint.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "data/dataset.hpp"
#include "train/checkpointing.hpp"
#include "train/trainer.hpp"

namespace vkres::cli {
namespace {

constexpr const char* kHelp = R"(usage: vkres train --model NAME [options]

Trains a ResNet with SGD and writes checkpoints and metrics to the run directory.

model
  --model NAME        resnet20/32/44/56/110/1202, plain20/32/44/56/110, resnet18/34/50/101/152
  --num-classes N     outputs (default: the model's; must cover the dataset's classes)
  --input HxW|N       input size (default 32x32 for CIFAR models, 224x224 for ImageNet ones)
  --shortcut A|B      CIFAR ResNets: option A (default) or B shortcuts
  --zero-init-residual  start the last BN of each residual branch at gamma 0
  --init FILE         start from these weights (a vkres or converted PyTorch checkpoint)
data
  --data SPEC         synthetic (default, built in), cifar10:DIR, cifar100:DIR, folder:DIR
  --mean R,G,B        normalization mean (default: the dataset's, CIFAR-10 statistics for CIFAR
  --std R,G,B         and synthetic data)
  --no-shuffle        visit the training set in order
  --no-augment        no random crop or flip
  --workers N         data loading threads (default 2)
optimization
  --batch N           batch size (default 128)
  --lr X              base learning rate (default 0.1)
  --momentum X        SGD momentum (default 0.9; 0 for plain SGD)
  --nesterov          Nesterov momentum
  --wd X              weight decay (default 1e-4)
  --schedule S        constant | paper (lr/10 at 32k and 48k steps, stop at 64k) |
                      step:E1,E2,... (lr/10 at those epochs) | cosine   (default constant)
  --warmup N          warm-up steps before the schedule (default 0)
  --warmup-mode M     linear (ramp up to lr, default) | constant (lr/10, the paper's ResNet-110 start)
  --epochs N          epochs to train (default 10, or the paper schedule's 64k steps)
  --max-steps N       stop after N steps in all (also with --resume, to extend a run)
  --seed N            seeds the initialization, data order and augmentation (default 0)
run directory
  --out DIR           where checkpoints and metrics go (default runs/MODEL); must not hold
                      another run's checkpoints unless resuming
  --resume PATH       continue a run bit for bit from a checkpoint file or a run directory (its
                      newest valid checkpoint); the run's settings come from the checkpoint
  --keep K            checkpoints kept (default 3)
  --save-every N      also save every N steps (default: at each epoch's end and at the end)
  --no-eval           skip the test-set evaluation after each epoch
  --quiet             no progress line
device
  --device N|NAME     --limits PROFILE    as for 'vkres devices'
  --tune MODE         auto (default: tune this model's convolutions on first use), cached or off;
                      see 'vkres tune --help'

Writes DIR/checkpoint-<step>.safetensors, DIR/metrics.jsonl and .csv (plot with tools/plot) and
DIR/run.json. A loss that becomes NaN or infinite stops the run (exit 3) without overwriting the
last good checkpoint. Ctrl-C saves a checkpoint and stops (exit 130).
)";

// Settings that decide what the run computes: a resumed run takes them from its checkpoint.
const std::set<std::string> kRunSettings = {"--model", "--num-classes", "--input", "--shortcut", "--init",
                                            "--data", "--mean", "--std", "--batch", "--lr", "--momentum",
                                            "--wd", "--schedule", "--warmup", "--warmup-mode", "--seed"};
const std::set<std::string> kRunFlags = {"--no-shuffle", "--no-augment", "--nesterov", "--zero-init-residual"};

train::RunConfig config_from_flags(const Args& args) {
  const std::string model = args.get("--model");
  if (model.empty()) throw Error("vkres train: --model is required", "e.g. --model resnet20; see 'vkres train --help'");
  nn::ModelOptions options = model_options(args);
  options.zero_init_last_bn = args.has("--zero-init-residual");
  train::RunConfig c;
  c.model = nn::parse_model(model, options);
  c.data = args.get("--data", "synthetic");
  c.batch = int(args.get_int("--batch", 128, 1, 1 << 20));
  c.lr = args.get_double("--lr", 0.1, 0, 1e37);
  if (c.lr == 0) throw Error("vkres train: --lr must be positive, got 0");
  c.sgd.momentum = float(args.get_double("--momentum", 0.9, 0, 0.999999));
  c.sgd.weight_decay = float(args.get_double("--wd", 1e-4, 0, 1));
  c.sgd.nesterov = args.has("--nesterov");
  if (c.sgd.nesterov && c.sgd.momentum == 0) throw Error("vkres train: --nesterov needs a --momentum above 0");
  c.schedule = train::parse_schedule(args.get("--schedule", "constant"));
  c.schedule.warmup_steps = args.get_int("--warmup", 0, 0, int64_t(1) << 40);
  c.schedule.warmup = train::parse_warmup_kind(args.get("--warmup-mode", "linear"));
  c.epochs = args.get_int("--epochs", 0, 1, 1 << 30);
  c.max_steps = args.get_int("--max-steps", 0, 1, int64_t(1) << 40);
  if (c.epochs == 0 && c.max_steps == 0 && c.schedule.kind != train::ScheduleKind::paper) c.epochs = 10;
  c.seed = uint64_t(args.get_int("--seed", 0, 0, int64_t(1) << 62));
  c.shuffle = !args.has("--no-shuffle");
  c.augment = !args.has("--no-augment");
  // Opening the training set now checks --data before any device work, and gives its normalization.
  c.normalization =
      data::open_dataset(c.data, data::Split::Train, 0, {.image_size = c.model.input.h})->default_normalization();
  c.normalization.mean = args.get_triple("--mean", c.normalization.mean, -1e3, 1e3);
  c.normalization.std = args.get_triple("--std", c.normalization.std, 1e-6, 1e3);
  return c;
}

std::filesystem::path resolve_resume(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw Error(fmt::format("--resume {}: no such file or directory", path.string()));
  if (!std::filesystem::is_directory(path)) return path;
  const auto latest = ckpt::latest_checkpoint(path);
  if (!latest) throw Error(fmt::format("--resume {}: the directory holds no valid checkpoint", path.string()));
  return *latest;
}

}  // namespace

int train_command(const std::vector<std::string>& argv) {
  std::set<std::string> flags = {"--help", "--no-eval", "--quiet"};
  flags.insert(kRunFlags.begin(), kRunFlags.end());
  std::set<std::string> options = {"--out", "--resume", "--keep", "--save-every", "--workers", "--epochs",
                                   "--max-steps"};
  options.insert(kRunSettings.begin(), kRunSettings.end());
  options.insert(kDeviceOptions.begin(), kDeviceOptions.end());
  options.insert(kTuneOptions.begin(), kTuneOptions.end());
  Args args("train", argv, flags, options);
  if (args.has("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }

  train::TrainOptions o;
  o.keep = int(args.get_int("--keep", 3, 1, 1 << 20));
  o.save_every = args.get_int("--save-every", 0, 1, int64_t(1) << 40);
  o.workers = size_t(args.get_int("--workers", 2, 1, 256));
  o.evaluate = !args.has("--no-eval");
  o.progress = !args.has("--quiet");

  if (args.given("--resume")) {
    for (const std::string& s : kRunSettings)
      if (args.given(s))
        throw Error(fmt::format("vkres train: {} cannot be combined with --resume: a resumed run keeps its settings", s),
                    "only --epochs, --max-steps, --out, --keep, --save-every, --no-eval and --workers may change");
    for (const std::string& f : kRunFlags)
      if (args.has(f)) throw Error(fmt::format("vkres train: {} cannot be combined with --resume", f));
    o.resume = resolve_resume(args.get("--resume"));
    const io::SafetensorsFile file = ckpt::open_checkpoint(*o.resume);
    o.config = train::read_run_config(file);
    if (args.given("--epochs") || args.given("--max-steps")) {
      o.config.epochs = args.get_int("--epochs", 0, 1, 1 << 30);
      o.config.max_steps = args.get_int("--max-steps", 0, 1, int64_t(1) << 40);
    }
    o.out = args.get("--out", o.resume->parent_path().string());
  } else {
    o.config = config_from_flags(args);
    if (args.given("--init")) {
      o.init = args.get("--init");
      if (!std::filesystem::is_regular_file(*o.init))
        throw Error(fmt::format("--init {}: no such file", o.init->string()));
    }
    o.out = args.get("--out", "runs/" + o.config.model.name);
    if (!ckpt::list_checkpoints(o.out).empty())
      throw Error(fmt::format("--out {}: the directory already holds a run's checkpoints", o.out.string()),
                  fmt::format("continue it with --resume {}, or choose another --out", o.out.string()));
  }

  const tune::Mode tuning = tune_mode(args);
  vk::Context ctx(context_options(args));
  o.before_graphs = [&](const nn::ModelSpec& spec, int batch) { apply_tuning(ctx, tuning, spec, batch, true); };
  const train::TrainResult r = train::train(ctx, o);
  if (r.last_test)
    std::printf("test top-1 %.2f%%  top-5 %.2f%%  loss %.4f  (%llu images)\n", 100 * r.last_test->top1(),
                100 * r.last_test->top5(), r.last_test->loss, static_cast<unsigned long long>(r.last_test->images));
  if (r.last_checkpoint) std::printf("checkpoint: %s\n", r.last_checkpoint->string().c_str());
  std::printf("%lld steps, %.1f images/s\n", static_cast<long long>(r.steps), r.images_per_s);
  switch (r.end) {
    case train::RunEnd::finished:
      return 0;
    case train::RunEnd::interrupted:
      return 130;
    case train::RunEnd::diverged:
      return 3;
  }
  return 0;
}

}  // namespace vkres::cli
