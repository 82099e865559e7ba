#include "train/metrics_log.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.hpp"

namespace vkres::train {
namespace {

constexpr const char* kCsvHeader =
    "type,epoch,step,lr,loss,top1,images_per_s,time_s,train_loss,train_top1,test_loss,test_top1,test_top5\n";

std::FILE* open_append(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) throw Error(fmt::format("{}: cannot open for appending: {}", path.string(), std::strerror(errno)));
  return f;
}

// JSON has no NaN: a diverged loss is written as null.
std::string number(double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : "null"; }
std::string csv_number(const std::optional<double>& v) { return v ? number(*v) : ""; }

}  // namespace

MetricsLog::MetricsLog(const std::filesystem::path& dir)
    : jsonl_path_(dir / "metrics.jsonl"), csv_path_(dir / "metrics.csv") {
  const bool csv_is_new = !std::filesystem::exists(csv_path_) || std::filesystem::file_size(csv_path_) == 0;
  jsonl_ = open_append(jsonl_path_);
  try {
    csv_ = open_append(csv_path_);
  } catch (...) {
    std::fclose(jsonl_);
    throw;
  }
  if (csv_is_new) append(csv_, csv_path_, kCsvHeader);
}

MetricsLog::~MetricsLog() {
  std::fclose(jsonl_);
  std::fclose(csv_);
}

void MetricsLog::append(std::FILE* file, const std::filesystem::path& path, const std::string& line) {
  if (std::fputs(line.c_str(), file) < 0 || std::fflush(file) != 0)
    throw Error(fmt::format("{}: write failed: {}", path.string(), std::strerror(errno)));
}

void MetricsLog::write(const StepRecord& r) {
  append(jsonl_, jsonl_path_,
         fmt::format(R"({{"type":"step","epoch":{},"step":{},"lr":{},"loss":{},"top1":{},"images_per_s":{},"time_s":{}}})"
                     "\n",
                     r.epoch, r.step, number(r.lr), number(r.loss), number(r.top1), number(r.images_per_s),
                     number(r.time_s)));
  append(csv_, csv_path_,
         fmt::format("step,{},{},{},{},{},{},{},,,,,\n", r.epoch, r.step, number(r.lr), number(r.loss), number(r.top1),
                     number(r.images_per_s), number(r.time_s)));
}

void MetricsLog::write(const EpochRecord& r) {
  std::string test;
  if (r.test_loss) test += fmt::format(R"(,"test_loss":{})", number(*r.test_loss));
  if (r.test_top1) test += fmt::format(R"(,"test_top1":{})", number(*r.test_top1));
  if (r.test_top5) test += fmt::format(R"(,"test_top5":{})", number(*r.test_top5));
  append(jsonl_, jsonl_path_,
         fmt::format(R"({{"type":"epoch","epoch":{},"step":{},"lr":{},"train_loss":{},"train_top1":{}{},"time_s":{}}})"
                     "\n",
                     r.epoch, r.step, number(r.lr), number(r.train_loss), number(r.train_top1), test, number(r.time_s)));
  append(csv_, csv_path_,
         fmt::format("epoch,{},{},{},,,,{},{},{},{},{},{}\n", r.epoch, r.step, number(r.lr), number(r.time_s),
                     number(r.train_loss), number(r.train_top1), csv_number(r.test_loss), csv_number(r.test_top1),
                     csv_number(r.test_top5)));
}

}  // namespace vkres::train
