"""Pieces shared by the PyTorch fixture generators in tools/ (run with Debian's /usr/bin/python3).

  write_safetensors  a hand-written safetensors writer (the safetensors package is not in Debian)
  CifarResNet        the CIFAR ResNets of the paper's section 4.2 as the common PyTorch
                     reproduction (akamaster/pytorch_resnet_cifar10) lays them out, with
                     torchvision's names: option "A" (parameter-free subsample + zero channels split
                     evenly), "B" (1x1 conv + BN projection named downsample.0 / .1) or "none"
                     (the plain nets)
"""

import json
import struct

import numpy as np
import torch.nn as nn
import torch.nn.functional as F


DTYPE_NAMES = {np.dtype("<f8"): "F64", np.dtype("<f4"): "F32", np.dtype("<i8"): "I64"}


def write_safetensors(path, tensors, metadata):
    """tensors: name -> numpy array (float64, float32 or int64); laid out in dict order."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, array in tensors.items():
        dtype = array.dtype.newbyteorder("<")
        blob = array.astype(dtype).tobytes()  # C order; np.ascontiguousarray would make [] into [1]
        header[name] = {"dtype": DTYPE_NAMES[dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Padding keeps the payload 8-byte aligned for readers that map the file.
    header_bytes += b" " * (-len(header_bytes) % 8)
    path.write_bytes(struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(blobs))


class CifarBasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride, option):
        super().__init__()
        self.option = option
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.reshapes = stride != 1 or in_planes != planes
        self.stride = stride
        self.pad = (planes - in_planes) // 2  # option A: even split of the zero channels
        if option == "B" and self.reshapes:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def shortcut(self, x):
        if not self.reshapes:
            return x
        if self.option == "A":
            x = x[:, :, ::self.stride, ::self.stride]
            return F.pad(x, (0, 0, 0, 0, self.pad, self.pad))
        return self.downsample(x)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.option != "none":
            out = out + self.shortcut(x)
        return F.relu(out)


class CifarResNet(nn.Module):
    def __init__(self, blocks_per_stage, option, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_planes = 16
        for stage, planes in enumerate((16, 32, 64)):
            blocks = []
            for b in range(blocks_per_stage):
                stride = 2 if stage > 0 and b == 0 else 1
                blocks.append(CifarBasicBlock(in_planes, planes, stride, option))
                in_planes = planes
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean(dim=(2, 3)))
