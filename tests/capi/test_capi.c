/* The C API from C: a device, a fresh ResNet-20 trained for a few steps on coloured patterns made
 * here, evaluation (uint8 and float inputs agree bit for bit), a checkpoint saved and reloaded
 * (identical logits; training resumes with identical losses), and the error paths. Optional
 * argv[1]: the vkres command, which must evaluate the saved checkpoint.
 *
 * Run with VKRES_VALIDATION=1 (ctest does): any validation message, counted process-wide through
 * the devices' closing, fails the test. */
#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkres/vkres.h"

enum { kBatch = 3, kClasses = 10, kSide = 32, kImageBytes = kSide * kSide * 3, kBatches = 3, kPasses = 3 };

static int g_failures = 0;

#define CHECK(cond)                                                                        \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              vkres_last_error());                                                         \
      ++g_failures;                                                                        \
    }                                                                                      \
  } while (0)

/* A call that must succeed; the test cannot go on without it. */
#define REQUIRE_OK(call)                                                                                 \
  do {                                                                                                   \
    vkres_status s_ = (call);                                                                            \
    if (s_ != VKRES_OK) {                                                                                \
      fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #call, vkres_status_name(s_), \
              vkres_last_error());                                                                       \
      exit(1);                                                                                           \
    }                                                                                                    \
  } while (0)

/* A call that must fail with `want` and leave a message containing `needle` (NULL: any message). */
static void expect_error(vkres_status got, vkres_status want, const char* needle, const char* what, int line) {
  const char* message = vkres_last_error();
  if (got != want || message[0] == '\0' || (needle && !strstr(message, needle))) {
    fprintf(stderr, "line %d: %s: got %s (want %s), message '%s' (want it to name '%s')\n", line, what,
            vkres_status_name(got), vkres_status_name(want), message, needle ? needle : "");
    ++g_failures;
  } else {
    printf("as expected, %s: %s\n", vkres_status_name(got), message);
  }
}
#define EXPECT_ERROR(call, want, needle) expect_error((call), (want), (needle), #call, __LINE__)

/* Image k of the data set: class k % 10, a background colour and stripes whose direction, period
 * and colour depend on the class, plus a little noise from a per-image LCG. */
static void make_image(int k, uint8_t* image, int32_t* label) {
  static const uint8_t colours[kClasses][3] = {{200, 30, 30}, {30, 200, 30}, {30, 30, 200}, {200, 200, 30},
                                               {200, 30, 200}, {30, 200, 200}, {230, 130, 20}, {120, 60, 20},
                                               {240, 240, 240}, {20, 20, 20}};
  const int c = k % kClasses;
  uint32_t rng = 2654435761u * (uint32_t)(k + 1);
  for (int y = 0; y < kSide; ++y)
    for (int x = 0; x < kSide; ++x) {
      const int along = (c % 2) ? x : y;
      const int stripe = (along / (2 + c / 2)) % 2;
      for (int ch = 0; ch < 3; ++ch) {
        rng = rng * 1664525u + 1013904223u;
        int v = stripe ? colours[c][ch] : 255 - colours[c][ch];
        v += (int)(rng >> 28) - 8;
        image[(y * kSide + x) * 3 + ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
    }
  *label = c;
}

static void make_batch(int b, uint8_t* images, int32_t* labels) {
  for (int i = 0; i < kBatch; ++i) make_image(b * kBatch + i, images + i * kImageBytes, labels + i);
}

static int remove_entry(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

int main(int argc, char** argv) {
  static uint8_t images[kBatch * kImageBytes];
  static float normalized[kBatch * kImageBytes];
  int32_t labels[kBatch];
  float logits[kBatch * kClasses], logits_f32[kBatch * kClasses], logits_loaded[kBatch * kClasses];
  float logits_named[kBatch * kClasses];
  char dir[512], cache_dir[600], path[600], missing[600], garbage[600], damaged[600], command[2400];

  CHECK(vkres_version() == VKRES_VERSION);
  const char* tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/vkres-capi-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(cache_dir, sizeof cache_dir, "%s/cache", dir);
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  snprintf(missing, sizeof missing, "%s/no-such-dir/model.safetensors", dir);
  snprintf(garbage, sizeof garbage, "%s/garbage.safetensors", dir);
  snprintf(damaged, sizeof damaged, "%s/damaged.safetensors", dir);

  /* ---- device ---- */
  vkres_device* device = NULL;
  EXPECT_ERROR(vkres_device_open(-1, "no-such-profile", "", &device), VKRES_ERROR_INVALID_ARGUMENT, "no-such-profile");
  EXPECT_ERROR(vkres_device_open(1000, NULL, "", &device), VKRES_ERROR_DEVICE, "1000");
  EXPECT_ERROR(vkres_device_open(-2, NULL, "", &device), VKRES_ERROR_INVALID_ARGUMENT, "index");
  EXPECT_ERROR(vkres_device_open(-1, NULL, "", NULL), VKRES_ERROR_INVALID_ARGUMENT, "out_device");
  REQUIRE_OK(vkres_device_open(-1, NULL, cache_dir, &device));
  const char* device_name = NULL;
  REQUIRE_OK(vkres_device_name(device, &device_name));
  printf("device: %s\n", device_name);

  /* ---- a fresh model ---- */
  vkres_model* model = NULL;
  EXPECT_ERROR(vkres_model_create(device, "resnet21", 10, 0, 0, 1, &model), VKRES_ERROR_INVALID_ARGUMENT, "resnet21");
  EXPECT_ERROR(vkres_model_create(NULL, "resnet20", 10, 0, 0, 1, &model), VKRES_ERROR_INVALID_ARGUMENT, "device");
  EXPECT_ERROR(vkres_model_create(device, "resnet20", -1, 0, 0, 1, &model), VKRES_ERROR_INVALID_ARGUMENT, "num_classes");
  EXPECT_ERROR(vkres_model_create(device, "resnet20", 10, 32, 0, 1, &model), VKRES_ERROR_INVALID_ARGUMENT, "input");
  REQUIRE_OK(vkres_model_create(device, "resnet20", kClasses, 0, 0, 7, &model));
  const char* name = NULL;
  int classes = 0, height = 0, width = 0;
  float mean[3], std[3];
  REQUIRE_OK(vkres_model_name(model, &name));
  REQUIRE_OK(vkres_model_num_classes(model, &classes));
  REQUIRE_OK(vkres_model_input_size(model, &height, &width));
  REQUIRE_OK(vkres_model_normalization(model, mean, std));
  CHECK(strcmp(name, "resnet20") == 0);
  CHECK(classes == kClasses && height == kSide && width == kSide);
  CHECK(fabsf(mean[0] - 0.4914f) < 1e-6f && fabsf(std[2] - 0.2616f) < 1e-6f); /* CIFAR-10's */

  /* ---- evaluation: uint8 and pre-normalized float give the same bits ---- */
  make_batch(0, images, labels);
  REQUIRE_OK(vkres_model_evaluate_u8(model, images, sizeof images, kBatch, logits, kBatch * kClasses));
  for (int i = 0; i < kBatch * kImageBytes; ++i)
    normalized[i] = ((float)images[i] / 255.0f - mean[i % 3]) / std[i % 3];
  REQUIRE_OK(vkres_model_evaluate_f32(model, normalized, kBatch * kImageBytes, kBatch, logits_f32, kBatch * kClasses));
  CHECK(memcmp(logits, logits_f32, sizeof logits) == 0);
  for (int i = 0; i < kBatch * kClasses; ++i) CHECK(isfinite(logits[i]));
  /* one image alone (another graph) gives the same logits as in the batch, to rounding */
  float one[kClasses];
  REQUIRE_OK(vkres_model_evaluate_u8(model, images + kImageBytes, kImageBytes, 1, one, kClasses));
  for (int j = 0; j < kClasses; ++j) CHECK(fabsf(one[j] - logits[kClasses + j]) <= 1e-4f * (1 + fabsf(one[j])));

  EXPECT_ERROR(vkres_model_evaluate_u8(NULL, images, sizeof images, kBatch, logits, kBatch * kClasses),
               VKRES_ERROR_INVALID_ARGUMENT, "model is NULL");
  EXPECT_ERROR(vkres_model_evaluate_u8(model, images, sizeof images, 0, logits, kBatch * kClasses),
               VKRES_ERROR_INVALID_ARGUMENT, "n must be");
  EXPECT_ERROR(vkres_model_evaluate_u8(model, images, sizeof images - 1, kBatch, logits, kBatch * kClasses),
               VKRES_ERROR_INVALID_ARGUMENT, "images_len");
  EXPECT_ERROR(vkres_model_evaluate_u8(model, images, sizeof images, kBatch, logits, kBatch * kClasses - 1),
               VKRES_ERROR_INVALID_ARGUMENT, "logits_len");
  EXPECT_ERROR(vkres_model_evaluate_f32(model, NULL, kBatch * kImageBytes, kBatch, logits, kBatch * kClasses),
               VKRES_ERROR_INVALID_ARGUMENT, "images");
  const float bad_std[3] = {0.2f, 0.0f, 0.2f};
  EXPECT_ERROR(vkres_model_set_normalization(model, mean, bad_std), VKRES_ERROR_INVALID_ARGUMENT, "std[1]");

  /* ---- training ---- */
  vkres_trainer* trainer = NULL;
  EXPECT_ERROR(vkres_trainer_create(model, 0, 0.05f, 0.9f, 5e-4f, &trainer), VKRES_ERROR_INVALID_ARGUMENT, "batch_size");
  EXPECT_ERROR(vkres_trainer_create(model, kBatch, 0.05f, 1.0f, 5e-4f, &trainer), VKRES_ERROR_INVALID_ARGUMENT, "momentum");
  REQUIRE_OK(vkres_trainer_create(model, kBatch, 0.05f, 0.9f, 5e-4f, &trainer));
  vkres_trainer* second = NULL;
  EXPECT_ERROR(vkres_trainer_create(model, kBatch, 0.05f, 0.9f, 5e-4f, &second), VKRES_ERROR_BUSY, "trainer");
  CHECK(second == NULL);

  double first_pass = 0, last_pass = 0;
  for (int pass = 0; pass < kPasses; ++pass)
    for (int b = 0; b < kBatches; ++b) {
      double loss = -1;
      int correct = -1;
      make_batch(b, images, labels);
      REQUIRE_OK(vkres_trainer_step_u8(trainer, images, sizeof images, labels, kBatch, &loss, &correct));
      printf("pass %d batch %d: loss %.5f, %d of %d right\n", pass, b, loss, correct, kBatch);
      CHECK(isfinite(loss) && loss > 0);
      CHECK(correct >= 0 && correct <= kBatch);
      if (pass == 0) first_pass += loss;
      if (pass == kPasses - 1) last_pass += loss;
    }
  CHECK(last_pass < first_pass);
  int64_t steps = 0;
  REQUIRE_OK(vkres_trainer_steps(trainer, &steps));
  CHECK(steps == kPasses * kBatches);

  make_batch(0, images, labels);
  EXPECT_ERROR(vkres_trainer_step_u8(trainer, images, sizeof images, labels, 2, NULL, NULL),
               VKRES_ERROR_INVALID_ARGUMENT, "batch size");
  labels[1] = kClasses;
  EXPECT_ERROR(vkres_trainer_step_u8(trainer, images, sizeof images, labels, kBatch, NULL, NULL),
               VKRES_ERROR_INVALID_ARGUMENT, "labels[1]");
  EXPECT_ERROR(vkres_trainer_step_u8(NULL, images, sizeof images, labels, kBatch, NULL, NULL),
               VKRES_ERROR_INVALID_ARGUMENT, "trainer is NULL");
  EXPECT_ERROR(vkres_trainer_step_f32(trainer, normalized, 5, labels, kBatch, NULL, NULL), VKRES_ERROR_INVALID_ARGUMENT,
               "images_len");
  EXPECT_ERROR(vkres_trainer_set_lr(trainer, NAN), VKRES_ERROR_INVALID_ARGUMENT, "lr");
  REQUIRE_OK(vkres_trainer_set_lr(trainer, 0.02f));

  /* ---- save, reload: the same logits, bit for bit ---- */
  REQUIRE_OK(vkres_model_save(model, path));
  EXPECT_ERROR(vkres_model_save(model, missing), VKRES_ERROR_IO, "no-such-dir");
  vkres_model* loaded = NULL;
  EXPECT_ERROR(vkres_model_load(device, missing, NULL, &loaded), VKRES_ERROR_IO, missing);
  FILE* f = fopen(garbage, "wb");
  CHECK(f != NULL);
  if (f) {
    fputs("this is not a safetensors file", f);
    fclose(f);
  }
  EXPECT_ERROR(vkres_model_load(device, garbage, NULL, &loaded), VKRES_ERROR_FORMAT, garbage);
  EXPECT_ERROR(vkres_model_load(device, path, "resnet21", &loaded), VKRES_ERROR_INVALID_ARGUMENT, "resnet21");
  EXPECT_ERROR(vkres_model_load(device, path, "resnet32", &loaded), VKRES_ERROR_FORMAT, path);
  CHECK(loaded == NULL);

  REQUIRE_OK(vkres_model_load(device, path, NULL, &loaded));
  make_batch(1, images, labels);
  REQUIRE_OK(vkres_model_evaluate_u8(model, images, sizeof images, kBatch, logits, kBatch * kClasses));
  REQUIRE_OK(vkres_model_evaluate_u8(loaded, images, sizeof images, kBatch, logits_loaded, kBatch * kClasses));
  CHECK(memcmp(logits, logits_loaded, sizeof logits) == 0);
  REQUIRE_OK(vkres_model_name(loaded, &name));
  REQUIRE_OK(vkres_model_num_classes(loaded, &classes));
  float loaded_mean[3], loaded_std[3];
  REQUIRE_OK(vkres_model_normalization(loaded, loaded_mean, loaded_std));
  CHECK(strcmp(name, "resnet20") == 0 && classes == kClasses);
  CHECK(memcmp(mean, loaded_mean, sizeof mean) == 0 && memcmp(std, loaded_std, sizeof std) == 0);
  vkres_model* named = NULL; /* the model given by name instead of by the metadata */
  REQUIRE_OK(vkres_model_load(device, path, "resnet20", &named));
  REQUIRE_OK(vkres_model_evaluate_u8(named, images, sizeof images, kBatch, logits_named, kBatch * kClasses));
  CHECK(memcmp(logits, logits_named, sizeof logits) == 0);
  REQUIRE_OK(vkres_model_destroy(named));

  /* ---- training resumes from the checkpoint as if never interrupted (momentum restored) ---- */
  vkres_trainer* resumed = NULL;
  REQUIRE_OK(vkres_trainer_create(loaded, kBatch, 0.02f, 0.9f, 5e-4f, &resumed));
  REQUIRE_OK(vkres_trainer_steps(resumed, &steps));
  CHECK(steps == kPasses * kBatches);
  for (int b = 0; b < 2; ++b) {
    double loss = 0, loss_resumed = 1;
    int correct = -1, correct_resumed = -2;
    make_batch(b, images, labels);
    REQUIRE_OK(vkres_trainer_step_u8(trainer, images, sizeof images, labels, kBatch, &loss, &correct));
    REQUIRE_OK(vkres_trainer_step_u8(resumed, images, sizeof images, labels, kBatch, &loss_resumed, &correct_resumed));
    CHECK(memcmp(&loss, &loss_resumed, sizeof loss) == 0 && correct == correct_resumed);
  }
  REQUIRE_OK(vkres_model_evaluate_u8(model, images, sizeof images, kBatch, logits, kBatch * kClasses));
  REQUIRE_OK(vkres_model_evaluate_u8(loaded, images, sizeof images, kBatch, logits_loaded, kBatch * kClasses));
  CHECK(memcmp(logits, logits_loaded, sizeof logits) == 0);

  /* ---- a damaged checkpoint is refused by its hash ---- */
  f = fopen(path, "rb");
  FILE* g = fopen(damaged, "wb");
  CHECK(f && g);
  if (f && g) {
    long size = 0;
    for (int ch; (ch = fgetc(f)) != EOF; ++size) fputc(ch, g);
    fseek(g, size - 5, SEEK_SET); /* inside the last tensor's bytes */
    fputc(0x5a, g);
  }
  if (f) fclose(f);
  if (g) fclose(g);
  EXPECT_ERROR(vkres_model_load(device, damaged, NULL, &loaded), VKRES_ERROR_FORMAT, "hash");

  /* ---- `vkres eval` reads the file ---- */
  if (argc > 1) {
    snprintf(command, sizeof command,
             "VKRES_CACHE_DIR='%s/cli-cache' '%s' eval --checkpoint '%s' --limit 6 --batch 3 > /dev/null", dir, argv[1],
             path);
    const int rc = system(command);
    if (rc != 0) fprintf(stderr, "'%s' exited with %d\n", command, rc);
    CHECK(rc == 0);
  }

  /* ---- handles go in any order; then the validation layer must have said nothing ---- */
  REQUIRE_OK(vkres_device_close(device)); /* models and trainers keep it open */
  REQUIRE_OK(vkres_model_evaluate_u8(model, images, sizeof images, kBatch, logits, kBatch * kClasses));
  REQUIRE_OK(vkres_model_destroy(model)); /* its trainer keeps it */
  REQUIRE_OK(vkres_trainer_step_u8(trainer, images, sizeof images, labels, kBatch, NULL, NULL));
  REQUIRE_OK(vkres_trainer_destroy(trainer));
  REQUIRE_OK(vkres_model_destroy(loaded));
  REQUIRE_OK(vkres_trainer_destroy(resumed)); /* the last handle: the device closes here */
  REQUIRE_OK(vkres_trainer_destroy(NULL));
  REQUIRE_OK(vkres_model_destroy(NULL));
  REQUIRE_OK(vkres_device_close(NULL));
  EXPECT_ERROR(vkres_validation_message_count(NULL), VKRES_ERROR_INVALID_ARGUMENT, "out_count");
  uint64_t messages = 0;
  REQUIRE_OK(vkres_validation_message_count(&messages));
  if (messages) fprintf(stderr, "FAILED: %llu validation message(s) (printed above)\n", (unsigned long long)messages);
  CHECK(messages == 0);
  const char* validation = getenv("VKRES_VALIDATION");
  if (!validation || !*validation || strcmp(validation, "0") == 0)
    printf("note: VKRES_VALIDATION is not set: the validation layer was off\n");

  nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (g_failures) {
    fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  printf("all C API checks passed\n");
  return 0;
}
