#!/usr/bin/python3
"""PyTorch interop of vkres checkpoints, end to end (ctest `interop`):

    /usr/bin/python3 tests/interop/interop.py path/to/vkres REPO_ROOT

(a) vkres -> PyTorch. `vkres train` writes a checkpoint of a CIFAR ResNet-20 (defined in PyTorch
    by tools/fixture_common.py with vkres's names) and of torchvision's resnet18(num_classes=10)
    at 32x32; its hash is checked with hashlib (the C++ SHA-256 against Python's), its
    "optimizer." tensors are dropped, and the rest loads into the PyTorch model with
    load_state_dict(strict=True). The model in eval mode gives the logits `vkres eval
    --save-logits` reports, on the very images vkres fed its model (they are in the same file).
(b) PyTorch -> vkres. A PyTorch model with random weights and randomized BN running statistics is
    saved as a .pth the way training scripts do (nested under 'state_dict', DataParallel's
    'module.' prefixes, the CIFAR net's head named 'linear'), converted by tools/convert and
    evaluated by `vkres eval --model NAME`: its logits are PyTorch's. A converted file without
    num_batches_tracked loads too, and one converted with --model needs no --model.

Logits are compared in float64 PyTorch against vkres's float32: the largest difference must stay
below TOLERANCE times the largest logit magnitude.
"""

import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torchvision

TOLERANCE = 1e-4
EVAL_IMAGES = 16
DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}
MODELS = {
    "resnet20": [],
    "resnet18": ["--input", "32x32", "--num-classes", "10"],
}

failures = []


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message, flush=True)
    if not condition:
        failures.append(message)
    return condition


def read_safetensors(path):
    """(metadata, {name: numpy array}, the data buffer) with the layout checks a reader needs."""
    data = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    buffer = data[8 + length:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        array = np.frombuffer(buffer[begin:end], dtype=np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<"))
        tensors[name] = array.reshape(entry["shape"]).copy()
    return metadata, tensors, buffer


def run(args, **kwargs):
    print("  $ " + " ".join(str(a) for a in args), flush=True)
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{args[0]} {args[1]} exited with {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def pytorch_model(name):
    if name == "resnet20":
        from fixture_common import CifarResNet
        return CifarResNet(3, "A", 10)
    return torchvision.models.resnet18(num_classes=10)


def pytorch_logits(model, images_nhwc):
    model = model.double().eval()
    with torch.no_grad():
        x = torch.from_numpy(images_nhwc.astype(np.float64)).permute(0, 3, 1, 2).contiguous()
        return model(x).numpy()


def compare_logits(what, got, want):
    scale = float(np.abs(want).max())
    error = float(np.abs(got.astype(np.float64) - want).max()) / max(scale, 1e-30)
    check(got.shape == want.shape and error <= TOLERANCE,
          f"{what}: logits {got.shape} within {error:.2e} of PyTorch's (scale {scale:.3g}, limit {TOLERANCE:g})")


def vkres_eval(vkres, checkpoint, out, model=None):
    args = [vkres, "eval", "--checkpoint", checkpoint, "--data", "synthetic", "--batch", "8",
            "--limit", str(EVAL_IMAGES), "--save-logits", out]
    if model:  # a converted file: the model's options are not in it (resnet18: 10 classes at 32x32)
        args += ["--model", model, *MODELS[model]]
    run(args)
    _, saved, _ = read_safetensors(out)
    check(saved["images"].shape[0] == EVAL_IMAGES and saved["images"].shape[3] == 3,
          f"eval saved {saved['images'].shape} images NHWC")
    return saved


def vkres_to_pytorch(vkres, work, name):
    print(f"(a) {name}: vkres train -> PyTorch", flush=True)
    out = work / f"train_{name}"
    run([vkres, "train", "--model", name, "--data", "synthetic", "--batch", "8", "--max-steps", "3",
         "--out", out, "--seed", "1", *MODELS[name]])
    checkpoint = out / "checkpoint-00000003.safetensors"
    check(checkpoint.exists() and (out / "metrics.jsonl").exists(), f"{checkpoint.name} and metrics.jsonl written")
    metadata, tensors, buffer = read_safetensors(checkpoint)
    check(metadata.get("format") == "vkres-checkpoint" and metadata.get("format_version") == "1",
          f"format {metadata.get('format')} version {metadata.get('format_version')}")
    check(metadata.get("tensors_sha256") == hashlib.sha256(buffer).hexdigest(), "tensors_sha256 agrees with hashlib")

    model = pytorch_model(name)
    state = {k: torch.from_numpy(v) for k, v in tensors.items() if not k.startswith("optimizer.")}
    try:
        model.load_state_dict(state, strict=True)
        check(True, f"load_state_dict(strict=True) took all {len(state)} tensors")
    except RuntimeError as e:
        check(False, f"load_state_dict(strict=True): {e}")
        return
    check(all(int(state[k]) == 3 for k in state if k.endswith("num_batches_tracked")),
          "num_batches_tracked is 3 after 3 steps")
    check(any(k.startswith("optimizer.momentum.") for k in tensors), "momentum saved under optimizer.momentum.")

    saved = vkres_eval(vkres, checkpoint, work / f"logits_a_{name}.safetensors")
    compare_logits(f"{name} trained by vkres", saved["logits"], pytorch_logits(model, saved["images"]))


def randomize(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.copy_(0.5 + torch.rand(module.weight.shape, generator=generator))
                module.bias.copy_(0.2 * torch.randn(module.bias.shape, generator=generator))
                module.running_mean.copy_(0.2 * torch.randn(module.running_mean.shape, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator))
                module.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=generator)))
    return model


def pytorch_to_vkres(vkres, convert, work, name):
    print(f"(b) {name}: PyTorch .pth -> tools/convert -> vkres eval", flush=True)
    torch.manual_seed(7)
    model = randomize(pytorch_model(name), 11)
    state = {}
    for key, value in model.state_dict().items():
        if name == "resnet20" and key.startswith("fc."):
            key = "linear." + key[len("fc."):]
        state["module." + key] = value
    pth = work / f"{name}.pth"
    torch.save({"epoch": 90, "state_dict": state, "best_prec1": 91.3}, pth)

    converted = work / f"{name}_converted.safetensors"
    run([sys.executable, convert, pth, converted])
    metadata, tensors, buffer = read_safetensors(converted)
    check(metadata.get("tensors_sha256") == hashlib.sha256(buffer).hexdigest()
          and metadata.get("source") == pth.name and "model" not in metadata,
          "converted file: hash, source, no model")
    check(list(tensors) == list(model.state_dict()), "converted names are PyTorch's state_dict names, in order")
    check(all(tensors[k].dtype == (np.int64 if k.endswith("num_batches_tracked") else np.float32) for k in tensors)
          and all(tensors[k].shape == () for k in tensors if k.endswith("num_batches_tracked")),
          "converted dtypes: F32, num_batches_tracked I64 scalars")
    saved = vkres_eval(vkres, converted, work / f"logits_b_{name}.safetensors", model=name)
    compare_logits(f"{name} from PyTorch", saved["logits"], pytorch_logits(model, saved["images"]))

    # No num_batches_tracked (PyTorch before 0.4.1 did not save it), and the model named in the
    # file: only its name, so a model with other than its default options still needs --model.
    trimmed = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    torch.save({"state_dict": trimmed}, work / f"{name}_trimmed.pth")
    converted = work / f"{name}_trimmed.safetensors"
    run([sys.executable, convert, work / f"{name}_trimmed.pth", converted, "--model", name])
    _, tensors, _ = read_safetensors(converted)
    check(not any(k.endswith("num_batches_tracked") for k in tensors), "converted without num_batches_tracked")
    saved = vkres_eval(vkres, converted, work / f"logits_c_{name}.safetensors",
                       model=name if MODELS[name] else None)
    compare_logits(f"{name} without num_batches_tracked" + ("" if MODELS[name] else ", model from metadata"),
                   saved["logits"], pytorch_logits(model, saved["images"]))


def convert_errors(convert, work):
    print("tools/convert: one-line errors, exit status 1", flush=True)
    (work / "garbage.pth").write_bytes(b"this is not a pickle")
    torch.save({"epoch": 3, "args": {"lr": 0.1}}, work / "no_state.pth")
    cases = [("missing.pth", "no such file"), ("garbage.pth", "not a PyTorch file"),
             ("no_state.pth", "no state_dict found")]
    for name, message in cases:
        out = work / "never.safetensors"
        result = subprocess.run([sys.executable, str(convert), str(work / name), str(out)],
                                capture_output=True, text=True)
        lines = result.stderr.strip().splitlines()
        check(result.returncode == 1 and len(lines) == 1 and message in lines[0] and not out.exists(),
              f"convert {name}: exit {result.returncode}, {lines}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    vkres, root = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    sys.path.insert(0, str(root / "tools"))
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(prefix="vkres_interop_") as tmp:
        work = Path(tmp)
        os.environ.setdefault("VKRES_CACHE_DIR", str(work / "cache"))
        convert_errors(root / "tools" / "convert", work)
        for name in MODELS:
            for case in (vkres_to_pytorch, lambda v, w, n: pytorch_to_vkres(v, root / "tools" / "convert", w, n)):
                try:
                    case(vkres, work, name)
                except Exception as e:  # one case's failure must not hide the others
                    check(False, f"{name}: {type(e).__name__}: {e}")
    print(f"interop: {len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
