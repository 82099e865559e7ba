#!/usr/bin/python3
"""Generate the PyTorch reference data for vkres's step-for-step training parity tests.

Run from anywhere with Debian's interpreter (python3-torch, python3-torchvision, numpy; no pip):

    /usr/bin/python3 tools/gen_parity_fixtures.py

It (re)writes tests/fixtures/parity/<case>.safetensors, one file per case (CASES below), and
prints each file's size. The whole set stays under 4 MB so that it can be checked in.

Initial weights and inputs are not stored: both sides compute them with the "parity-splitmix64-v1"
init, defined here and in src/nn/parity_init.hpp, which must agree bit for bit:

  (all integer arithmetic modulo 2^64; float arithmetic IEEE, round to nearest even, one op at a time)
  fnv1a64(tag)  h = 0xCBF29CE484222325; for each UTF-8 byte b of tag: h = (h ^ b) * 0x100000001B3
  z(tag, i)     key = fnv1a64(tag) + i * 0x9E3779B97F4A7C15, then splitmix64:
                z = key + 0x9E3779B97F4A7C15
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
                z = (z ^ (z >> 27)) * 0x94D049BB133111EB
                z = z ^ (z >> 31)
  s(tag, i)     float32(int64(z >> 40) - 2^23) * 2^-23, uniform on [-1, 1), exact in float32

  Each state_dict entry uses its name as the tag and the flat index of PyTorch's layout:
  conv / fc weight   float32(s * bound), ONE float32 multiply, bound = float32(sqrt(6.0 / fan_in))
                     computed in double then rounded; fan_in = cin * kh * kw or in_features
  fc bias            float32(s * float32(1.0 / sqrt(float(in_features)))), one float32 multiply
  BN weight          float32(1.0f + float32(0.25f * s)); BN bias float32(0.25f * s)
  running_mean 0, running_var 1, num_batches_tracked 0
  input batch        tag "input", flat NCHW index i: s(i)
  labels             tag "labels", sample i: (z(i) >> 33) % num_classes

What each case does, in float64 (model.double(), the float32 init widened exactly), BN in training
mode: one forward and backward of the mean softmax cross-entropy on the batch, then torch.optim.SGD
(momentum, weight decay on every parameter, dampening 0, no Nesterov) for `steps` steps on that
same batch, each step a forward, a backward and optimizer.step(); BN running statistics update on
every forward, so num_batches_tracked ends at `steps`.

Each file holds __metadata__ {"vkres_fixture_version": "1", "model", "shortcut" ("A", "B" or
"none"), "input_h", "input_w", "batch", "num_classes", "lr", "momentum", "weight_decay", "steps",
"init": "parity-splitmix64-v1"} (strings, floats as repr) and these tensors:

  logits [batch][num_classes] F64, loss [] F64  the first forward
  losses [steps] F64                           the loss of each step's forward (losses[0] == loss)
  labels [batch] I64
  input_check [16] F32                         the first 16 input values (NCHW)
  init_check/<name> F32                        the first min(8, numel) init values of every entry
  for every state_dict entry <name> (in state_dict order), with a gradient only for parameters:
    grad/<name>, final/<name> F64              the gradient of the first backward and the value
                                               after the last step, in PyTorch's layout and shape
                                               (final/<name>.num_batches_tracked is I64)
    or, for an entry over SAMPLE_ABOVE = 2048 elements (running statistics never are):
    sample_index/<name> [512] I64              flat indices, i-th = z("<name>#sample", i) % numel
                                               (with replacement), stored so readers need no hash
    grad_sample/<name>, final_sample/<name>    [512] F64 at those indices
    grad_norm/<name>, final_norm/<name> [] F64 the L2 norm of the whole tensor
  resnet20_a keeps every gradient complete (grad/<name>), the one full first step that fits: its
  complete gradients and final weights together would take 4.3 MB in float64 on their own. The
  threshold and sample size are what keep the set under the 4 MB budget.

The output is deterministic: the same bytes on every run (single thread, deterministic
algorithms, no random generator, header keys in insertion order).
"""

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from fixture_common import CifarResNet, write_safetensors

FIXTURE_VERSION = "1"
INIT_NAME = "parity-splitmix64-v1"
OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "parity"
SAMPLE_ABOVE = 2048
SAMPLE_COUNT = 512
INIT_CHECK_COUNT = 8
INPUT_CHECK_COUNT = 16
BUDGET_BYTES = 4 * 1000 * 1000

MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


# --- parity-splitmix64-v1 ----------------------------------------------------------------------

def fnv1a64(tag):
    h = 0xCBF29CE484222325
    for byte in tag.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return h


def parity_bits(tag, count):
    """z(tag, i) for i in [0, count), as uint64 (numpy wraps uint64 arithmetic modulo 2^64)."""
    z = np.uint64(fnv1a64(tag)) + np.arange(count, dtype=np.uint64) * np.uint64(GOLDEN_GAMMA)
    z = z + np.uint64(GOLDEN_GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def parity_uniform(tag, count):
    top24 = (parity_bits(tag, count) >> np.uint64(40)).astype(np.int64)
    return (top24 - (1 << 23)).astype(np.float32) * np.float32(2.0 ** -23)


def scaled_uniform(name, count, bound):
    return parity_uniform(name, count) * np.float32(bound)  # float32 * float32: one rounding


def batchnorm_init(name, kind, count):
    if kind == "weight":
        return np.float32(1.0) + np.float32(0.25) * parity_uniform(name, count)
    if kind == "bias":
        return np.float32(0.25) * parity_uniform(name, count)
    if kind == "running_mean":
        return np.zeros(count, dtype=np.float32)
    if kind == "running_var":
        return np.ones(count, dtype=np.float32)
    return np.zeros(1, dtype=np.float32)  # num_batches_tracked


def parity_init(model):
    """name -> flat float32 init values, for every state_dict entry, by the owning module's type."""
    values = {}
    for module_name, module in model.named_modules():
        prefix = module_name + "." if module_name else ""
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            weight = module.weight
            fan_in = weight[0].numel()
            values[prefix + "weight"] = scaled_uniform(prefix + "weight", weight.numel(),
                                                       math.sqrt(6.0 / fan_in))
            if module.bias is not None:
                values[prefix + "bias"] = scaled_uniform(prefix + "bias", module.bias.numel(),
                                                         1.0 / math.sqrt(fan_in))
        elif isinstance(module, nn.BatchNorm2d):
            for kind, tensor in module.state_dict().items():
                values[prefix + kind] = batchnorm_init(prefix + kind, kind, tensor.numel())
    return values


def parity_labels(batch, num_classes):
    return (parity_bits("labels", batch) >> np.uint64(33)) % np.uint64(num_classes)


CIFAR = dict(input_h=32, input_w=32, batch=3, num_classes=10, lr=0.1, momentum=0.9,
             weight_decay=1e-4, steps=10)
CASES = {
    "resnet20_a": dict(CIFAR, model="resnet20", shortcut="A", full_grads=True,
                       build=lambda: CifarResNet(3, "A", 10)),
    "resnet20_b": dict(CIFAR, model="resnet20", shortcut="B", full_grads=False,
                       build=lambda: CifarResNet(3, "B", 10)),
    "plain20": dict(CIFAR, model="plain20", shortcut="none", full_grads=False,
                    build=lambda: CifarResNet(3, "none", 10)),
    "resnet18": dict(model="resnet18", shortcut="B", input_h=64, input_w=64, batch=2,
                     num_classes=10, lr=0.01, momentum=0.9, weight_decay=1e-4, steps=10,
                     full_grads=False, build=lambda: torchvision.models.resnet18(num_classes=10)),
}
METADATA_KEYS = ("model", "shortcut", "input_h", "input_w", "batch", "num_classes", "lr",
                 "momentum", "weight_decay", "steps")


# --- running a case ----------------------------------------------------------------------------

def load_init(model, init):
    state = model.state_dict()
    for name, tensor in state.items():
        values = torch.from_numpy(init[name].astype(np.float64)).reshape(tensor.shape)
        with torch.no_grad():
            tensor.copy_(values)  # num_batches_tracked: int64 0


def train(case, model, x, labels):
    """The first forward's logits and loss, the first backward's gradients, each step's loss."""
    optimizer = torch.optim.SGD(model.parameters(), lr=case["lr"], momentum=case["momentum"],
                                weight_decay=case["weight_decay"])
    losses, first = [], None
    for _ in range(case["steps"]):
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        if first is None:
            grads = {name: p.grad.detach().clone() for name, p in model.named_parameters()}
            first = (logits.detach().clone(), loss.detach().clone(), grads)
        losses.append(loss.item())
        optimizer.step()
    return first, torch.tensor(losses, dtype=torch.float64)


def sample_index(name, count):
    return (parity_bits(name + "#sample", SAMPLE_COUNT) % np.uint64(count)).astype(np.int64)


def add_entry(tensors, prefix, name, value, index):
    """The whole tensor, or its sample at `index` and its norm."""
    flat = value.detach().reshape(-1)
    if index is None:
        tensors[f"{prefix}/{name}"] = value.detach().numpy()  # float64, or int64 for the counter
    else:
        tensors[f"{prefix}_sample/{name}"] = flat[torch.from_numpy(index)].numpy()
        tensors[f"{prefix}_norm/{name}"] = np.array(flat.norm().item(), dtype=np.float64)


def run_case(case):
    model = case["build"]().double()
    model.train()
    init = parity_init(model)
    assert list(init) == list(model.state_dict()), "the init must cover the state_dict in order"
    load_init(model, init)
    batch, h, w = case["batch"], case["input_h"], case["input_w"]
    x_values = parity_uniform("input", batch * 3 * h * w)
    x = torch.from_numpy(x_values.astype(np.float64)).reshape(batch, 3, h, w)
    labels = torch.from_numpy(parity_labels(batch, case["num_classes"]).astype(np.int64))
    (logits, loss, grads), losses = train(case, model, x, labels)

    tensors = {"logits": logits.numpy(), "loss": loss.numpy(), "losses": losses.numpy(),
               "labels": labels.numpy(), "input_check": x_values[:INPUT_CHECK_COUNT]}
    for name, values in init.items():
        tensors[f"init_check/{name}"] = values[:INIT_CHECK_COUNT]
    for name, final in model.state_dict().items():
        big = final.numel() > SAMPLE_ABOVE
        index = sample_index(name, final.numel()) if big else None
        if big:
            tensors[f"sample_index/{name}"] = index
        if name in grads:
            add_entry(tensors, "grad", name, grads[name], None if case["full_grads"] else index)
        add_entry(tensors, "final", name, final, index)
    return tensors


# --- writing -----------------------------------------------------------------------------------

def metadata(case):
    result = {"vkres_fixture_version": FIXTURE_VERSION, "init": INIT_NAME}
    result.update({key: repr(case[key]) if isinstance(case[key], float) else str(case[key])
                   for key in METADATA_KEYS})
    return result


def main():
    torch.set_num_threads(1)  # reduction order, and so every last bit, independent of the machine
    torch.use_deterministic_algorithms(True)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, case in CASES.items():
        path = OUT_DIR / f"{name}.safetensors"
        write_safetensors(path, run_case(case), metadata(case))
        size = path.stat().st_size
        total += size
        print(f"{path.relative_to(OUT_DIR.parent.parent.parent)}: {size} bytes")
    print(f"total: {total} bytes")
    if total >= BUDGET_BYTES:
        raise SystemExit(f"the parity fixtures take {total} bytes, over the {BUDGET_BYTES} budget")


if __name__ == "__main__":
    main()
