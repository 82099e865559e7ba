#!/usr/bin/env bash
# End-to-end checks of `vkres train` and `vkres eval` on tiny datasets: the run directory's files,
# resuming bit for bit, evaluation output, and a one-line error with a non-zero exit for every
# kind of bad input (flags, datasets, checkpoint files).
#   check_train.sh path/to/vkres
set -uo pipefail
vkres=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/expect.sh"
py=python3

tiny=(--model resnet20 --data synthetic:12,5 --batch 3 --seed 3 --quiet)

# A run: checkpoint, metrics and run.json; the summary on stdout. The first run on a device tunes
# the model's convolutions at its batch (--tune auto, the default); later runs only read the file.
# Winograd stays out of the choices until its own checks below: every other variant gives the
# same bits, which the hash comparisons rely on.
export VKRES_CACHE_DIR="$work/cache" VKRES_WINOGRAD=off
expect_ok "the first run tunes its convolutions" "tuned 24 convolution kernels in [0-9.]+ s \($work/cache/tuning-" \
  "$vkres" train "${tiny[@]}" --max-steps 5 --out "$work/whole"
expect_ok "the tiny run wrote its checkpoint" "checkpoint-00000005.safetensors" ls "$work/whole"
export VKRES_TUNE=cached
expect_ok "metrics: 5 step records and 1 epoch record" "^5 1$" \
  $py -c "import json,sys; r=[json.loads(l) for l in open('$work/whole/metrics.jsonl')]; print(sum(x['type']=='step' for x in r), sum(x['type']=='epoch' for x in r))"
expect_ok "metrics.csv has the header and 6 rows" "^7$" bash -c "wc -l < '$work/whole/metrics.csv'"

# Resuming: 2 steps, then --resume to 5, holds the very tensors of 5 steps in one go.
expect_ok "train 2 steps" "checkpoint-00000002" "$vkres" train "${tiny[@]}" --max-steps 2 --out "$work/split"
expect_ok "resume to step 5" "checkpoint-00000005" "$vkres" train --resume "$work/split" --max-steps 5 --quiet
hash_of() {
  $py -c "import json,struct,sys; f=open(sys.argv[1],'rb'); n=struct.unpack('<Q',f.read(8))[0]; print(json.loads(f.read(n))['__metadata__']['tensors_sha256'])" "$1"
}
if [[ $(hash_of "$work/whole/checkpoint-00000005.safetensors") == $(hash_of "$work/split/checkpoint-00000005.safetensors") ]]; then
  passed=$((passed + 1))
else
  echo "FAIL resumed run differs from the uninterrupted one"
  failures=$((failures + 1))
fi
# The tuned kernel variants change speed, never results: with every kernel at its default variant,
# and with every kernel at the last variant the tuner tried (never the default), the run writes the
# very same tensors.
expect_ok "train untuned" "checkpoint-00000005" \
  env VKRES_TUNE=off "$vkres" train "${tiny[@]}" --max-steps 5 --out "$work/untuned"
expect_ok "choose the last candidate of every tuned kernel" "^24 kernels, [1-9][0-9]* non-default$" $py -c "
import glob, json
path = glob.glob('$work/cache/tuning-*.json')[0]
d = json.load(open(path))
for k in d['kernels'].values():
  if k['candidates']: k['variant'] = k['candidates'][-1]['variant']  # none: a training forward with nothing to pair
json.dump(d, open(path, 'w'))
print(len(d['kernels']), 'kernels,', sum(len(k['candidates']) > 1 for k in d['kernels'].values()), 'non-default')"
expect_ok "train with the other variants" "checkpoint-00000005" \
  "$vkres" train "${tiny[@]}" --max-steps 5 --out "$work/other_variants"
# Likewise the batch norms that compute the ReLU after them (VKRES_FUSION=off runs them apart).
expect_ok "train unfused" "checkpoint-00000005" \
  env VKRES_FUSION=off "$vkres" train "${tiny[@]}" --max-steps 5 --out "$work/unfused"
expect_error "a bad VKRES_FUSION" 1 "VKRES_FUSION: unknown value 'maybe'" \
  env VKRES_FUSION=maybe "$vkres" train "${tiny[@]}" --max-steps 1 --out "$work/bad_fusion"
for run in untuned other_variants unfused; do
  if [[ $(hash_of "$work/whole/checkpoint-00000005.safetensors") == $(hash_of "$work/$run/checkpoint-00000005.safetensors") ]]; then
    passed=$((passed + 1))
  else
    echo "FAIL the run in $run differs from the one with tuned kernels"
    failures=$((failures + 1))
  fi
done
# Winograd: every kernel that has a Winograd candidate runs it. Its rounding differs from the
# direct kernels', so the loss is compared within a tolerance, and resuming is still bit for bit.
export VKRES_WINOGRAD=on
expect_ok "forget the tuned choices" "^forgotten$" $py -c "
import glob, json
path = glob.glob('$work/cache/tuning-*.json')[0]
d = json.load(open(path))
d['kernels'] = {}
json.dump(d, open(path, 'w'))
print('forgotten')"
expect_ok "tune again with Winograd candidates" "24 kernels, 24 tuned now" \
  "$vkres" tune --model resnet20 --batch 3
expect_ok "choose Winograd wherever it was a candidate" "^[1-9][0-9]* kernels on winograd$" $py -c "
import glob, json
path = glob.glob('$work/cache/tuning-*.json')[0]
d = json.load(open(path))
chosen = 0
for k in d['kernels'].values():
  w = [c['variant'] for c in k['candidates'] if c['variant'].startswith('winograd')]
  if w: k['variant'] = w[0]; chosen += 1
json.dump(d, open(path, 'w'))
print(chosen, 'kernels on winograd')"
expect_ok "train with Winograd" "checkpoint-00000005" "$vkres" train "${tiny[@]}" --max-steps 5 --out "$work/winograd"
expect_ok "train 2 steps with Winograd" "checkpoint-00000002" \
  "$vkres" train "${tiny[@]}" --max-steps 2 --out "$work/winograd_split"
expect_ok "resume to step 5 with Winograd" "checkpoint-00000005" \
  "$vkres" train --resume "$work/winograd_split" --max-steps 5 --quiet
if [[ $(hash_of "$work/winograd/checkpoint-00000005.safetensors") == $(hash_of "$work/winograd_split/checkpoint-00000005.safetensors") ]]; then
  passed=$((passed + 1))
else
  echo "FAIL the resumed Winograd run differs from the uninterrupted one"
  failures=$((failures + 1))
fi
# Steps 1-3 (the forward pass, then two updates from Winograd's data gradients): losses within 1e-4
# (measured within 2e-6). Later steps drift apart as these short, unsteady runs amplify rounding
# differences: 1e-4 to 1e-3 at step 4 and 1e-3 to 3e-2 at steps 5-6, at batches 3 and 16.
expect_ok "Winograd's first losses are the direct kernels' within 1e-4" "^same losses$" $py -c "
import json
def losses(run): return [r['loss'] for r in map(json.loads, open('$work/' + run + '/metrics.jsonl')) if r['type'] == 'step']
a, b = losses('whole'), losses('winograd')
assert len(a) == len(b) == 5, (a, b)
bad = [(x, y) for x, y in zip(a[:3], b[:3]) if abs(x - y) > 1e-4 * max(1.0, abs(x))]
print('same losses' if not bad else bad)"
expect_error "a bad VKRES_WINOGRAD" 1 "VKRES_WINOGRAD: 'maybe' is neither 'on' nor 'off'" \
  env VKRES_WINOGRAD=maybe "$vkres" train "${tiny[@]}" --max-steps 1 --out "$work/bad_winograd"
export VKRES_WINOGRAD=off

expect_error "resume with a changed setting" 1 "--lr cannot be combined with --resume" \
  "$vkres" train --resume "$work/split" --lr 0.5
expect_error "a new run over an old one" 1 "already holds a run's checkpoints.*--resume" \
  "$vkres" train "${tiny[@]}" --out "$work/split"

# Evaluation: text and JSON, per class, and the logits file.
ckpt=$work/whole/checkpoint-00000005.safetensors
expect_ok "eval prints top-1, top-5 and per-class accuracy" "top-1 [0-9.]+%  top-5 [0-9.]+%.*per class" \
  bash -c "'$vkres' eval --checkpoint '$ckpt' --data synthetic:12,5 --batch 2 | tr '\n' ' '"
expect_ok "eval --json" "^5 10$" \
  bash -c "'$vkres' eval --checkpoint '$ckpt' --data synthetic:12,5 --json | $py -c 'import json,sys; d=json.load(sys.stdin); print(d[\"images\"], len(d[\"per_class\"]))'"

# Bad flags and values.
expect_error "negative lr" 1 "--lr must be a number in \[0, 1e\+37\], got '-1'" "$vkres" train "${tiny[@]}" --lr -1
expect_error "zero batch" 1 "--batch must be an integer in \[1, " "$vkres" train "${tiny[@]}" --batch 0
expect_error "unknown flag" 1 "unknown option '--learning-rate'" "$vkres" train "${tiny[@]}" --learning-rate 1
expect_error "unknown schedule" 1 "--schedule: unknown schedule 'linear'" "$vkres" train "${tiny[@]}" --schedule linear
expect_error "bad mean" 1 "--mean must be three comma-separated numbers" "$vkres" train "${tiny[@]}" --mean 0.5,0.5
expect_error "unknown model" 1 "unknown model" "$vkres" train --model resnet21
expect_error "no model" 1 "--model is required" "$vkres" train
expect_error "bad synthetic size" 1 "--data synthetic:0,5: '0' is not an image count" \
  "$vkres" train "${tiny[@]}" --data synthetic:0,5
expect_error "more classes than outputs" 1 "has 10 classes but resnet20 has 4 outputs.*--num-classes 10" \
  "$vkres" train "${tiny[@]}" --num-classes 4

# Datasets on disk.
mkdir -p "$work/c10"
$py - "$work/c10" <<'PY'
import os, sys
d = sys.argv[1]
rec = lambda label: bytes([label]) + bytes(3072)
for i in range(1, 6):
    open(os.path.join(d, f"data_batch_{i}.bin"), "wb").write(b"".join(rec(k % 10) for k in range(4)))
open(os.path.join(d, "test_batch.bin"), "wb").write(b"".join(rec(k % 10) for k in range(3)))
PY
expect_ok "train on CIFAR-10 files" "checkpoint-00000002" \
  "$vkres" train --model resnet20 --data "cifar10:$work/c10" --batch 4 --max-steps 2 --quiet --out "$work/c10run"
expect_error "missing CIFAR directory" 1 "missing file .*nowhere/data_batch_1.bin" \
  "$vkres" train --model resnet20 --data "cifar10:$work/nowhere"
head -c 3000 "$work/c10/test_batch.bin" > "$work/t" && cp -r "$work/c10" "$work/c10trunc" && mv "$work/t" "$work/c10trunc/test_batch.bin"
expect_error "truncated CIFAR file" 1 "test_batch.bin: size 3000 bytes is not a positive multiple of the 3073-byte record" \
  "$vkres" eval --checkpoint "$ckpt" --data "cifar10:$work/c10trunc"
cp -r "$work/c10" "$work/c10label" && printf '\x0c' | dd of="$work/c10label/test_batch.bin" bs=1 seek=3073 conv=notrunc status=none
expect_error "CIFAR label out of range" 1 "test_batch.bin: record 1 has label 12, expected 0..9" \
  "$vkres" eval --checkpoint "$ckpt" --data "cifar10:$work/c10label"
mkdir -p "$work/folder/train/cat" "$work/folder/train/dog" "$work/folder/val/cat" "$work/folder/val/dog"
expect_error "empty class folder" 1 "cat" "$vkres" train --model resnet20 --data "folder:$work/folder" --input 32
echo "not a jpeg" > "$work/folder/train/cat/a.jpg"; cp "$work/folder/train/cat/a.jpg" "$work/folder/train/dog/b.jpg"
cp "$work/folder/train/cat/a.jpg" "$work/folder/val/cat/a.jpg"; cp "$work/folder/train/cat/a.jpg" "$work/folder/val/dog/b.jpg"
expect_error "a file that is not an image" 1 "a.jpg" \
  "$vkres" train --model resnet20 --data "folder:$work/folder" --input 32 --batch 1 --max-steps 1 --quiet --out "$work/f"

# Checkpoint files.
expect_error "missing checkpoint" 1 "nothing.safetensors" "$vkres" eval --checkpoint "$work/nothing.safetensors"
cp "$ckpt" "$work/flipped.safetensors"
size=$(stat -c %s "$work/flipped.safetensors")
printf '\x5a' | dd of="$work/flipped.safetensors" bs=1 seek=$((size - 3)) conv=notrunc status=none
expect_error "hash mismatch" 1 "flipped.safetensors: checkpoint hash mismatch" \
  "$vkres" eval --checkpoint "$work/flipped.safetensors" --data synthetic:12,5
expect_error "a model the weights are not for" 1 "missing" \
  "$vkres" eval --checkpoint "$ckpt" --data synthetic:12,5 --model resnet32
expect_error "a wrong shape" 1 "fc.weight.*shape" \
  "$vkres" eval --checkpoint "$ckpt" --data synthetic:12,5 --model resnet20 --num-classes 12
$py - "$work" <<'PY'
import json, struct, sys, os
d = sys.argv[1]
def write(name, header, data, length=None):
    h = json.dumps(header).encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(struct.pack("<Q", len(h) if length is None else length)); f.write(h); f.write(data)
t = lambda a, b, shape=[2]: {"dtype": "F32", "shape": shape, "data_offsets": [a, b]}
write("badlen.safetensors", {"a": t(0, 8)}, bytes(8), length=1 << 40)
write("overlap.safetensors", {"a": t(0, 8), "b": t(4, 12)}, bytes(12))
write("outofrange.safetensors", {"a": t(0, 8), "b": t(8, 64)}, bytes(16))
write("dtype.safetensors", {"conv1.weight": {"dtype": "I32", "shape": [16, 3, 3, 3], "data_offsets": [0, 1728]}}, bytes(1728))
PY
expect_error "bad header length" 1 "badlen.safetensors: .*header" "$vkres" eval --checkpoint "$work/badlen.safetensors" --model resnet20
expect_error "overlapping offsets" 1 "overlap.safetensors: .*(overlap|gap|contiguous)" "$vkres" eval --checkpoint "$work/overlap.safetensors" --model resnet20
expect_error "out-of-range offsets" 1 "outofrange.safetensors: " "$vkres" eval --checkpoint "$work/outofrange.safetensors" --model resnet20
expect_error "a wrong dtype" 1 "dtype.safetensors.*conv1.weight" "$vkres" eval --checkpoint "$work/dtype.safetensors" --model resnet20
expect_error "a plain state_dict without a model" 1 "does not name the model.*--model" \
  "$vkres" eval --checkpoint "$work/dtype.safetensors"

# A loss that diverges stops the run with exit 3 and a message naming the last good checkpoint.
out=$("$vkres" train "${tiny[@]}" --lr 1e30 --schedule constant --max-steps 8 --save-every 1 --no-eval --out "$work/nan" 2>&1)
rc=$?
if [[ $rc -eq 3 ]] && grep -Eq "(the loss became (nan|inf|-nan)|holds NaN or infinite values).*last good checkpoint is .*checkpoint-0000000" <<<"$out"; then
  passed=$((passed + 1))
else
  echo "FAIL diverging run: rc=$rc"; echo "$out" | head; failures=$((failures + 1))
fi

# Steps cut into several queue submissions (phones' watchdogs) compute the very same tensors.
expect_ok "train 5 steps in submissions of 7 dispatches" "checkpoint-00000005" \
  env VKRES_SUBMIT_DISPATCHES=7 "$vkres" train "${tiny[@]}" --max-steps 5 --out "$work/cut"
if [[ $(hash_of "$work/whole/checkpoint-00000005.safetensors") == $(hash_of "$work/cut/checkpoint-00000005.safetensors") ]]; then
  passed=$((passed + 1))
else
  echo "FAIL a run in short submissions differs from the one in whole steps"
  failures=$((failures + 1))
fi
expect_error "a bad submission size" 1 "VKRES_SUBMIT_DISPATCHES: 'many' is not a dispatch count" \
  env VKRES_SUBMIT_DISPATCHES=many "$vkres" train "${tiny[@]}" --max-steps 1 --out "$work/many"
# The smallest devices we promise to run on (32 dispatches per submission among their limits).
expect_ok "train under the android-baseline-2022 limits" "checkpoint-00000003" \
  "$vkres" train "${tiny[@]}" --max-steps 3 --limits android-baseline-2022 --out "$work/android"

# A lost device (injected: no CPU driver can lose itself) names the submission's dispatches, exits 1
# and leaves the checkpoints already written loadable.
out=$(env VKRES_SUBMIT_DISPATCHES=16 VKRES_INJECT_DEVICE_LOST=120 "$vkres" train "${tiny[@]}" --max-steps 12 \
  --save-every 2 --no-eval --out "$work/lost" 2>&1)
rc=$?
last=$(ls "$work/lost"/checkpoint-*.safetensors 2>/dev/null | tail -1)
if [[ $rc -eq 1 ]] && grep -Eq "GPU was lost \(VK_ERROR_DEVICE_LOST\) in submission [0-9]+ of [0-9]+: dispatches [0-9]+-[0-9]+ of [0-9]+, from '.+' to '.+'" <<<"$out" \
   && [[ -n $last ]] && "$vkres" eval --checkpoint "$last" --data synthetic:12,5 > /dev/null 2>&1; then
  passed=$((passed + 1))
else
  echo "FAIL lost device: rc=$rc, last checkpoint '${last}'"; echo "$out" | tail -3; failures=$((failures + 1))
fi

echo "check_train: $passed passed, $failures failed"
exit $((failures > 0))
