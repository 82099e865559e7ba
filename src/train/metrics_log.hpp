// A run's metrics on disk: runs/NAME/metrics.jsonl (one JSON object per line) and metrics.csv (the
// same records as rows under one fixed header), appended to and flushed after every record, so a
// crash loses at most the line being written and a resumed run continues the same files.
//   {"type":"step","epoch":1,"step":17,"lr":0.1,"loss":1.93,"top1":0.31,"images_per_s":42.0,"time_s":12.5}
//   {"type":"epoch","epoch":1,"step":78,"lr":0.1,"train_loss":1.7,"train_top1":0.38,
//    "test_loss":1.5,"test_top1":0.45,"test_top5":0.93,"time_s":95.2}
// epoch is 1-based, step counts optimizer steps done, top1/top5 are fractions; test_* are absent
// when the run evaluates no test set.
#pragma once

#include <cstdio>
#include <filesystem>
#include <optional>

namespace vkres::train {

struct StepRecord {
  int64_t epoch = 0, step = 0;
  double lr = 0, loss = 0, top1 = 0, images_per_s = 0, time_s = 0;
};

struct EpochRecord {
  int64_t epoch = 0, step = 0;
  double lr = 0, train_loss = 0, train_top1 = 0, time_s = 0;
  std::optional<double> test_loss, test_top1, test_top5;
};

class MetricsLog {
 public:
  // Opens (creating when absent) both files in `dir` for appending. Throws vkres::Error naming
  // the file when it cannot be opened.
  explicit MetricsLog(const std::filesystem::path& dir);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void write(const StepRecord& r);
  void write(const EpochRecord& r);

 private:
  void append(std::FILE* file, const std::filesystem::path& path, const std::string& line);

  std::filesystem::path jsonl_path_, csv_path_;
  std::FILE* jsonl_ = nullptr;
  std::FILE* csv_ = nullptr;
};

}  // namespace vkres::train
