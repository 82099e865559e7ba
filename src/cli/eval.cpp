// vkres eval: a checkpoint (vkres's own, a converted PyTorch one, or any safetensors state_dict
// with PyTorch's names) over a dataset split: top-1/top-5, loss, per-class accuracy, images/s.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "ckpt/checkpoint.hpp"
#include "ckpt/state_dict_io.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "io/safetensors.hpp"
#include "train/checkpointing.hpp"
#include "train/evaluator.hpp"

namespace vkres::cli {
namespace {

constexpr const char* kHelp = R"(usage: vkres eval --checkpoint FILE [options]

Evaluates a checkpoint on a dataset split and prints top-1 and top-5 accuracy, the mean loss,
per-class accuracy and images/s. The model and normalization come from the checkpoint's metadata
(vkres checkpoints, tools/convert output) unless given here.

  --checkpoint FILE   a safetensors file: vkres checkpoint, tools/convert output, or a plain
                      state_dict with PyTorch's names ('module.' and a 'linear' head accepted)
  --data SPEC         synthetic (default), cifar10:DIR, cifar100:DIR, folder:DIR
  --split test|train  which split (default test)
  --model NAME        the model (required when the file does not say; the class count is
                      read from the file's fc.weight unless --num-classes is given)
  --num-classes N  --input HxW  --shortcut A|B     as for 'vkres info' (with --model)
  --mean R,G,B  --std R,G,B   normalization (default: the checkpoint's, else the dataset's)
  --batch N           batch size (default 128)
  --limit N           only the first N images
  --workers N         data loading threads (default 2)
  --json              print the results as one JSON object
  --save-logits FILE  also write the normalized images (NHWC), labels and logits as safetensors
  --device N|NAME     --limits PROFILE    as for 'vkres devices'
  --tune MODE         auto (default: tune this model's convolutions on first use), cached or off;
                      see 'vkres tune --help'
)";

}  // namespace

int eval_command(const std::vector<std::string>& argv) {
  std::set<std::string> options = {"--checkpoint", "--data", "--split", "--model", "--mean", "--std",
                                   "--batch", "--limit", "--workers", "--save-logits"};
  options.insert(kModelOptions.begin(), kModelOptions.end());
  options.insert(kDeviceOptions.begin(), kDeviceOptions.end());
  options.insert(kTuneOptions.begin(), kTuneOptions.end());
  Args args("eval", argv, {"--help", "--json"}, options);
  if (args.has("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::filesystem::path path = args.get("--checkpoint");
  if (path.empty()) throw Error("vkres eval: --checkpoint is required", "see 'vkres eval --help'");
  const std::string split_name = args.get("--split", "test");
  if (split_name != "test" && split_name != "train")
    throw Error(fmt::format("vkres eval: --split must be test or train, got '{}'", split_name));
  const int batch = int(args.get_int("--batch", 128, 1, 1 << 20));
  const uint64_t limit = uint64_t(args.get_int("--limit", 0, 1, int64_t(1) << 40));
  const size_t workers = size_t(args.get_int("--workers", 2, 1, 256));
  const std::string data_spec = args.get("--data", "synthetic");

  const io::SafetensorsFile file = ckpt::open_checkpoint(path);
  nn::ModelConfig model;
  if (args.given("--model")) {
    nn::ModelOptions options = model_options(args);
    // A state_dict says how many classes its head has: no need to repeat it with --num-classes.
    if (!options.num_classes)
      for (const io::TensorInfo& t : file.tensors())
        if (ckpt::canonical_state_name(t.name) == "fc.weight" && t.shape.size() == 2 && t.shape[0] > 0 &&
            t.shape[0] <= (1 << 20))
          options.num_classes = int(t.shape[0]);
    model = nn::parse_model(args.get("--model"), options);
  } else {
    for (const std::string& o : kModelOptions)
      if (args.given(o)) throw Error(fmt::format("vkres eval: {} needs --model", o));
    const auto from_file = train::read_model_config(file);
    if (!from_file)
      throw Error(fmt::format("{}: the metadata does not name the model", path.string()),
                  "give it with --model NAME (and --num-classes / --input if they differ from the defaults)");
    model = *from_file;
  }
  const std::unique_ptr<data::Dataset> dataset = data::open_dataset(
      data_spec, split_name == "test" ? data::Split::Test : data::Split::Train, 0, {.image_size = model.input.h});
  data::Normalization norm = train::read_normalization(file).value_or(dataset->default_normalization());
  norm.mean = args.get_triple("--mean", norm.mean, -1e3, 1e3);
  norm.std = args.get_triple("--std", norm.std, 1e-6, 1e3);

  const tune::Mode tuning = tune_mode(args);
  vk::Context ctx(context_options(args));
  nn::ModelState state(ctx, nn::describe_model(model));
  const ckpt::LoadReport report = ckpt::load_model_state(state, file);
  if (!report.unexpected.empty())
    std::fprintf(stderr, "vkres: warning: %s: ignored %zu tensors the model does not have: %s\n",
                 path.string().c_str(), report.unexpected.size(), fmt::format("{}", fmt::join(report.unexpected, ", ")).c_str());
  if (!report.defaulted.empty())
    std::fprintf(stderr, "vkres: note: %s has no num_batches_tracked; counting from 0\n", path.string().c_str());

  apply_tuning(ctx, tuning, state.spec(), batch, false);  // once the checkpoint has loaded
  train::Evaluator evaluator(state, *dataset, norm, batch, limit, workers);
  train::EvalRecord record;
  const bool save_logits = args.given("--save-logits");
  const train::EvalResult r = evaluator.run(save_logits ? &record : nullptr);
  if (save_logits) {
    const int64_t n = int64_t(r.images);
    io::write_safetensors(args.get("--save-logits"),
                          {io::tensor_to_write("images", {n, dataset->height(), dataset->width(), 3}, record.images),
                           io::tensor_to_write("labels", {n}, record.labels),
                           io::tensor_to_write("logits", {n, int64_t(model.num_classes)}, record.logits)},
                          {{"checkpoint", path.string()}, {"data", data_spec}, {"split", split_name}});
  }

  const double ips = r.seconds > 0 ? double(r.images) / r.seconds : 0;
  const std::vector<std::string>& names = dataset->class_names();
  if (args.has("--json")) {
    nlohmann::json classes = nlohmann::json::array();
    for (size_t c = 0; c < r.class_total.size(); ++c)
      classes.push_back({{"class", c < names.size() ? names[c] : std::to_string(c)},
                         {"images", r.class_total[c]},
                         {"top1", r.class_total[c] ? double(r.class_correct[c]) / double(r.class_total[c]) : 0.0}});
    const nlohmann::json j = {{"checkpoint", path.string()}, {"model", model.name}, {"data", dataset->name()},
                              {"images", r.images},          {"top1", r.top1()},  {"top5", r.top5()},
                              {"loss", r.loss},              {"images_per_s", ips}, {"seconds", r.seconds},
                              {"per_class", classes}};
    std::puts(j.dump(2).c_str());
    return 0;
  }
  std::printf("%s on %s: %llu images\n", model.name.c_str(), dataset->name().c_str(),
              static_cast<unsigned long long>(r.images));
  std::printf("top-1 %.2f%%  top-5 %.2f%%  loss %.4f  %.1f images/s\n", 100 * r.top1(), 100 * r.top5(), r.loss, ips);
  std::printf("per class (top-1):\n");
  for (size_t c = 0; c < r.class_total.size(); ++c) {
    if (r.class_total[c] == 0) continue;
    std::printf("  %-24s %6.2f%%  (%llu images)\n", (c < names.size() ? names[c] : std::to_string(c)).c_str(),
                100.0 * double(r.class_correct[c]) / double(r.class_total[c]),
                static_cast<unsigned long long>(r.class_total[c]));
  }
  return 0;
}

}  // namespace vkres::cli
