/* vkres C API: train and evaluate ResNets through Vulkan compute from C, JNI (Android) or any
 * language with a C FFI. Pure C99 header; no C++ type crosses it.
 *
 * Conventions
 * - Every function but vkres_version, vkres_status_name and vkres_last_error returns a
 *   vkres_status. On failure, vkres_last_error() holds a one-line message for this thread naming
 *   the function and the file or argument at fault; a successful call leaves it unchanged.
 *   Outputs are written only on success unless a function says otherwise.
 * - Handles are opaque. A NULL handle, a NULL required pointer or a size that does not match
 *   gives VKRES_ERROR_INVALID_ARGUMENT, never a crash. Using a handle after destroying it is
 *   undefined, as with free(). The *_destroy / *_close functions accept NULL and do nothing.
 * - Lifetimes are reference counted: a model keeps its device alive and a trainer its model, so
 *   handles may be destroyed in any order (e.g. by a garbage collector's finalizers). The GPU
 *   memory of a device goes away when its last handle does.
 * - Thread safety: calls on objects of one device are serialized by a per-device lock; objects of
 *   different devices work in parallel. No callbacks, no global state besides the error string.
 * - Images: RGB, 8 bits per channel, rows top to bottom, HWC ("interleaved", what Android's
 *   ARGB_8888 bitmaps give after dropping alpha):
 *       value of image i, row y, column x, channel c (0 R, 1 G, 2 B)
 *       = images[((i * height + y) * width + x) * 3 + c]
 *   of exactly n * height * width * 3 bytes, at the model's input size (vkres_model_input_size).
 *   They are normalized as torchvision's ToTensor + Normalize: (value / 255 - mean[c]) / std[c]
 *   with the model's normalization (vkres_model_normalization), in float, exactly as
 *   `vkres train` / `vkres eval` normalize. The *_f32 variants take images already normalized,
 *   float, in the same NHWC order (index ((i * height + y) * width + x) * 3 + c), n * height *
 *   width * 3 floats. Resizing, cropping and augmentation are the caller's.
 * - Logits: float [n][num_classes], row-major, before softmax.
 * - Checkpoints are the safetensors files `vkres train` writes: PyTorch state_dict names and
 *   layouts (they load into PyTorch with load_state_dict(strict=True) once the "optimizer." keys
 *   are dropped), readable by `vkres eval`.
 */
#ifndef VKRES_VKRES_H
#define VKRES_VKRES_H

#include <stddef.h>
#include <stdint.h>

#define VKRES_VERSION_MAJOR 0
#define VKRES_VERSION_MINOR 1
#define VKRES_VERSION_PATCH 0
/* (major << 16) | (minor << 8) | patch: compare with vkres_version() to catch a header that does
 * not match the library. */
#define VKRES_VERSION ((VKRES_VERSION_MAJOR << 16) | (VKRES_VERSION_MINOR << 8) | VKRES_VERSION_PATCH)

#if defined(_WIN32) && defined(VKRES_SHARED_BUILD)
#define VKRES_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define VKRES_API __attribute__((visibility("default")))
#else
#define VKRES_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vkres_status {
  VKRES_OK = 0,
  VKRES_ERROR_INVALID_ARGUMENT = 1, /* NULL handle or pointer, size mismatch, unknown model or profile, bad value */
  VKRES_ERROR_IO = 2,               /* a file cannot be found, read or written */
  VKRES_ERROR_FORMAT = 3,           /* a checkpoint is malformed, damaged (hash) or does not fit the model */
  VKRES_ERROR_DEVICE = 4,           /* no usable Vulkan device, a Vulkan failure, or work the device cannot hold */
  VKRES_ERROR_OUT_OF_MEMORY = 5,    /* host or device memory ran out */
  VKRES_ERROR_DIVERGED = 6,         /* the loss or the weights became NaN or infinite */
  VKRES_ERROR_BUSY = 7,             /* the model already has a trainer */
  VKRES_ERROR_INTERNAL = 8          /* a bug in vkres: please report the message */
} vkres_status;

typedef struct vkres_device vkres_device;
typedef struct vkres_model vkres_model;
typedef struct vkres_trainer vkres_trainer;

/* VKRES_VERSION of the library. */
VKRES_API uint32_t vkres_version(void);
/* "VKRES_OK", "VKRES_ERROR_IO", ...; "unknown status" for other values. */
VKRES_API const char* vkres_status_name(vkres_status status);
/* The message of this thread's last failed call ("" if none). Valid until this thread's next failed call. */
VKRES_API const char* vkres_last_error(void);

/* ---- device ------------------------------------------------------------------------------ */

/* Opens a Vulkan device for compute.
 *   index           device index as `vkres devices` lists them, or -1: VKRES_DEVICE, else the
 *                   preferred one (discrete > integrated > virtual > CPU).
 *   limits_profile  NULL or "" for the device's own limits, or "android-baseline-2022" to clamp
 *                   them to that profile (VKRES_LIMITS when NULL).
 *   cache_dir       directory for the persistent pipeline cache and the tuned kernel choices
 *                   (created if needed; on Android, Context.getCacheDir()); NULL: VKRES_CACHE_DIR,
 *                   $XDG_CACHE_HOME/vkres or ~/.cache/vkres; "": no cache on disk.
 * VKRES_VALIDATION=1 in the environment turns on the Khronos validation layer.
 * Creating a trainer, or evaluating at a new batch size, first times the convolution variants on
 * the model's shapes that the cache directory holds no choice for (once per device and shape, as
 * `vkres tune` does ahead of time); VKRES_TUNE=cached or off skips that. Results never depend on it. */
VKRES_API vkres_status vkres_device_open(int index, const char* limits_profile, const char* cache_dir,
                                         vkres_device** out_device);
/* Drops this handle; the device closes (writing the pipeline cache) once no model or trainer uses it. */
VKRES_API vkres_status vkres_device_close(vkres_device* device);
/* The device's name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"; valid while the handle lives. */
VKRES_API vkres_status vkres_device_name(const vkres_device* device, const char** out_name);
/* Validation-layer warnings and errors reported so far in this process (0 without validation);
 * messages about leaks arrive when a device closes. Tests fail on any. */
VKRES_API vkres_status vkres_validation_message_count(uint64_t* out_count);

/* ---- models ------------------------------------------------------------------------------ */

/* A fresh model with torchvision's initialization, as `vkres train --model NAME --seed SEED`.
 *   name         resnet20/32/44/56/110/1202, plain20/32/44/56/110 (CIFAR, 32x32),
 *                resnet18/34/50/101/152 (torchvision, 224x224)
 *   num_classes  outputs, or 0 for the model's default (10 CIFAR, 1000 ImageNet)
 *   input_height, input_width   0, 0 for the model's default input size
 * Normalization: CIFAR-10's statistics for CIFAR models, ImageNet's for the others. */
VKRES_API vkres_status vkres_model_create(vkres_device* device, const char* name, int num_classes, int input_height,
                                          int input_width, uint64_t seed, vkres_model** out_model);
/* A model from a checkpoint: a vkres checkpoint, tools/convert output or a plain safetensors
 * state_dict with PyTorch's names ("module." prefixes and a "linear" head are accepted).
 *   model_name  NULL (or the name the metadata gives) to take the model, its configuration and
 *               normalization from the file's metadata; otherwise the model to build (the class
 *               count comes from the file's fc.weight), needed when the metadata does not say.
 * Weights, BN statistics and num_batches_tracked are loaded; SGD momentum, if the file holds it,
 * is kept for the first trainer created on the model, so training continues bit for bit. */
VKRES_API vkres_status vkres_model_load(vkres_device* device, const char* path, const char* model_name,
                                        vkres_model** out_model);
VKRES_API vkres_status vkres_model_destroy(vkres_model* model);

/* e.g. "resnet20"; valid while the handle lives. */
VKRES_API vkres_status vkres_model_name(const vkres_model* model, const char** out_name);
VKRES_API vkres_status vkres_model_num_classes(const vkres_model* model, int* out_num_classes);
VKRES_API vkres_status vkres_model_input_size(const vkres_model* model, int* out_height, int* out_width);
/* Per-channel (R, G, B) mean and std applied to uint8 images; either pointer may be NULL. */
VKRES_API vkres_status vkres_model_normalization(const vkres_model* model, float out_mean[3], float out_std[3]);
/* Replaces them (std > 0, all finite); saved checkpoints record them. */
VKRES_API vkres_status vkres_model_set_normalization(vkres_model* model, const float mean[3], const float std[3]);

/* Evaluation mode (BN running statistics): n images through the model, logits to out_logits.
 *   images_len  elements in images: must be n * height * width * 3
 *   logits_len  floats out_logits has room for: at least n * num_classes
 * n is at least 1. A graph per batch size is built on first use and kept (the last two sizes). */
VKRES_API vkres_status vkres_model_evaluate_u8(vkres_model* model, const uint8_t* images, size_t images_len, int n,
                                               float* out_logits, size_t logits_len);
VKRES_API vkres_status vkres_model_evaluate_f32(vkres_model* model, const float* images, size_t images_len, int n,
                                                float* out_logits, size_t logits_len);

/* Writes a checkpoint atomically (temporary file, fsync, rename): the state_dict, the model's
 * configuration and normalization, and, when the model has a trainer that has stepped (or
 * momentum loaded from a file), its SGD momentum and step count. A state holding NaN or infinite
 * values is refused (VKRES_ERROR_DIVERGED) and nothing is written. `vkres eval` reads the file;
 * `vkres train --init` starts from it (it holds no data-loader state for --resume). */
VKRES_API vkres_status vkres_model_save(vkres_model* model, const char* path);

/* ---- training ---------------------------------------------------------------------------- */

/* SGD as PyTorch's (dampening 0, no Nesterov) with batch norm in training mode. One trainer per
 * model at a time (VKRES_ERROR_BUSY otherwise); it updates the model in place, so evaluation and
 * saving see its progress.
 *   batch_size    images per step, fixed for the trainer
 *   lr            >= 0; momentum in [0, 1); weight_decay >= 0 */
VKRES_API vkres_status vkres_trainer_create(vkres_model* model, int batch_size, float lr, float momentum,
                                            float weight_decay, vkres_trainer** out_trainer);
VKRES_API vkres_status vkres_trainer_destroy(vkres_trainer* trainer);
/* The learning rate of the following steps (schedules are the caller's). */
VKRES_API vkres_status vkres_trainer_set_lr(vkres_trainer* trainer, float lr);
/* One SGD step on n == batch_size images (layout as above) with labels in [0, num_classes).
 * out_loss gets the batch's mean softmax cross-entropy before the update, out_correct how many
 * images the model classified right (top-1); either may be NULL. A loss that is NaN or infinite
 * gives VKRES_ERROR_DIVERGED (outputs still written): the weights are then unusable; load the
 * last checkpoint. */
VKRES_API vkres_status vkres_trainer_step_u8(vkres_trainer* trainer, const uint8_t* images, size_t images_len,
                                             const int32_t* labels, int n, double* out_loss, int* out_correct);
VKRES_API vkres_status vkres_trainer_step_f32(vkres_trainer* trainer, const float* images, size_t images_len,
                                              const int32_t* labels, int n, double* out_loss, int* out_correct);
/* Steps taken by this model's training so far (including those of a loaded checkpoint). */
VKRES_API vkres_status vkres_trainer_steps(const vkres_trainer* trainer, int64_t* out_steps);

#ifdef __cplusplus
}
#endif

#endif /* VKRES_VKRES_H */
