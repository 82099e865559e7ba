#!/usr/bin/env bash
# End-to-end checks of the vkres command line: output, exit codes, and one-line errors with hints.
#   check_cli.sh path/to/vkres
set -uo pipefail
vkres=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

source "$(dirname "$0")/expect.sh"

expect_ok "devices lists and marks the device" "vkres uses device [0-9]+" "$vkres" devices
expect_ok "devices --json parses" '"selected": [0-9]+' \
  bash -c "'$vkres' devices --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"devices\"][d[\"selected\"]][\"selected\"]; print(\"\\\"selected\\\": %d\" % d[\"selected\"])'"
expect_ok "devices under the Android profile" "4 buffers per stage" "$vkres" devices --limits android-baseline-2022
expect_error "unknown device index" 1 "--device: there is no device 99.*hint: devices: 0:" "$vkres" devices --device 99
expect_error "unknown device name" 1 "no device name contains 'no-such-gpu'" "$vkres" devices --device no-such-gpu
expect_error "unknown device from the environment" 1 "VKRES_DEVICE: no device name contains" \
  env VKRES_DEVICE=no-such-gpu "$vkres" devices
expect_error "missing Vulkan driver" 1 "no Vulkan (driver|device) found.*hint: install" \
  env VK_ICD_FILENAMES="$work/none.json" VK_DRIVER_FILES="$work/none.json" "$vkres" devices
expect_error "unknown limits profile" 1 "--limits: unknown limits profile 'phone'" "$vkres" devices --limits phone
expect_error "unknown option" 1 "unknown option '--frobnicate'" "$vkres" devices --frobnicate
expect_error "bad validation setting" 1 "VKRES_VALIDATION: unknown value" env VKRES_VALIDATION=maybe "$vkres" devices
expect_error "zero batch" 1 "--batch must be an integer in \[1, 4096\], got '0'" "$vkres" bench --ops --batch 0
expect_error "bench without a target" 1 "say what to benchmark" "$vkres" bench

# The pipeline cache: written on the first run, reused, and rebuilt with a warning when corrupt.
export VKRES_CACHE_DIR="$work/cache"
expect_ok "bench fills the pipeline cache" "peak:" "$vkres" bench --ops --batch 1 --repeat 1
cache=$(ls "$work"/cache/pipelines-*.bin 2>/dev/null | head -1)
if [[ -z "$cache" ]]; then
  echo "FAIL no pipeline cache written in $work/cache"
  failures=$((failures + 1))
else
  printf 'garbage' | dd of="$cache" bs=1 seek=100 conv=notrunc status=none
  expect_ok "corrupt pipeline cache is rebuilt with a warning" "ignoring pipeline cache .*rebuilt" \
    "$vkres" bench --ops --batch 1 --repeat 1
  expect_ok "rebuilt cache loads without a warning" "^clean$" \
    bash -c "'$vkres' bench --ops --batch 1 --repeat 1 2>&1 | grep -q 'ignoring pipeline cache' || echo clean"
fi

# Model descriptions need no device.
expect_ok "info counts resnet110's parameters" "parameters +1,727,962 \(1\.7M\)" "$vkres" info --model resnet110
expect_ok "info counts resnet50's multiply-adds" "forward +4\.09 GFLOPs" "$vkres" info --model resnet50
expect_ok "info gives the paper's count for resnet50" "3\.86 GFLOPs with the paper's stride" "$vkres" info --model resnet50
expect_ok "info --json parses" "^272474$" \
  bash -c "'$vkres' info --model resnet20 --shortcut B --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"parameters\"])'"
expect_error "info of an unknown model" 1 "unknown model 'resnet19'.*hint: models: resnet20, " "$vkres" info --model resnet19
expect_error "info without a model" 1 "say which model" "$vkres" info
expect_error "option A on an ImageNet model" 1 "projection shortcuts \(B\) only" "$vkres" info --model resnet50 --shortcut A
expect_ok "info --batch plans training memory" "training step memory plan: peak [0-9.]+ MiB" \
  "$vkres" info --model resnet20 --batch 128
expect_ok "info --batch plans evaluation memory" "evaluation memory plan: peak" "$vkres" info --model resnet20 --batch 128
expect_error "a batch over the binding limit is refused" 1 \
  "tensor 'conv1' needs 196\.00 MiB \(205520896 bytes\), more than the device's largest storage binding of 128\.00 MiB \(134217728 bytes\)" \
  "$vkres" info --model resnet18 --batch 64 --limits android-baseline-2022
expect_error "a batch past 32-bit indexing is refused" 1 "batch 4096 is too large: conv1 would hold 3288334336 values" \
  "$vkres" info --model resnet50 --batch 4096
# lavapipe allows one allocation as large as its heap, so the transient arena is what overflows.
expect_error "a batch over the device memory is refused" 1 \
  "(memory plan|transient arena) needs [0-9.]+ GiB \([0-9]+ bytes\).*(of device memory is available|largest allocation of)" \
  "$vkres" info --model resnet20 --input 8 --batch 30000
expect_error "bad input size" 1 "bad input size '32x'" "$vkres" info --model resnet20 --input 32x

# vkres tune: a tuning file next to the pipeline cache, reused by a second run and by eval/train/bench.
tuned="$work/tuned"
expect_ok "tune times the variants and keeps a winner per kernel" "7 kernels, 7 tuned now" \
  env VKRES_CACHE_DIR="$tuned" "$vkres" tune --model resnet20 --batch 2 --eval-only
expect_ok "tune writes one file per device, driver and limits profile" "tuning-[0-9a-f-]+-native\.json" \
  ls "$tuned"
expect_ok "a second tune reads the file" "7 kernels, 0 tuned now" \
  env VKRES_CACHE_DIR="$tuned" "$vkres" tune --model resnet20 --batch 2 --eval-only
expect_ok "tune --json lists the candidates" "^7 passed$" \
  bash -c "VKRES_CACHE_DIR='$tuned' '$vkres' tune --model resnet20 --batch 2 --eval-only --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
ok = [k for k in d[\"kernels\"] if any(c[\"variant\"] == k[\"chosen\"] and c[\"passed\"] for c in k[\"candidates\"])]
print(len(ok), \"passed\")'"
expect_ok "bench --tune cached uses the file" "7 of 24 convolution kernels tuned" \
  env VKRES_CACHE_DIR="$tuned" VKRES_LOG=info "$vkres" bench --model resnet20 --batch 2 --steps 1 --tune cached
expect_ok "bench --tune off uses none" "^untuned$" \
  bash -c "VKRES_CACHE_DIR='$tuned' '$vkres' bench --model resnet20 --batch 2 --steps 1 --tune off 2>&1 | grep -q 'kernels tuned' || echo untuned"
stem_choice=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["kernels"]["conv2d_fwd 3x3/s1x1/p1x1 3->16 on 2x32x32"]["variant"])' \
  "$(ls "$tuned"/tuning-*.json)")
expect_ok "bench --ops --tune cached runs the tuned variant ($stem_choice)" \
  "conv3x3 fwd 32x32x3->16 s1 .*  $stem_choice$" \
  env VKRES_CACHE_DIR="$tuned" "$vkres" bench --ops --batch 2 --repeat 1 --tune cached --filter "fwd 32x32x3"
expect_ok "bench --ops without --tune runs the defaults" "the default convolution variants" \
  env VKRES_CACHE_DIR="$tuned" "$vkres" bench --ops --batch 2 --repeat 1 --filter "fwd 32x32x3"
# bench --model: every phase and kind, rated against this device's measured peak; both start-ups.
cat >"$work/check_bench.py" <<'EOF'
import json, sys
d = json.load(sys.stdin)
assert d["peak"]["fma_gflops"] > 0 and d["peak"]["copy_gbps"] > 0, d["peak"]
train, ev = d["train"], d["eval"]
def rows(p, phase):
    return {r["kind"]: r for r in p["profile"] if r["phase"] == phase}
assert [r["phase"] for r in train["profile"]][0] == "forward"
assert sorted({r["phase"] for r in train["profile"]}) == ["backward", "forward", "loss", "optimizer"]
assert sorted({r["phase"] for r in ev["profile"]}) == ["forward", "loss"]
assert {"conv bwd data", "conv bwd filter", "batchnorm"} <= set(rows(train, "backward"))
assert list(rows(train, "optimizer")) == ["other"]
fwd, eval_fwd = rows(train, "forward")["conv fwd"], rows(ev, "forward")["conv fwd"]
assert fwd["flops"] > 0 and fwd["flops"] == eval_fwd["flops"], (fwd, eval_fwd)
assert fwd["gflops"] > 0 and abs(fwd["fraction_of_fma_peak"] * d["peak"]["fma_gflops"] - fwd["gflops"]) < 1e-6
for p in (train, ev):
    kinds = sum(p["kind_ms"].values())
    assert abs(sum(r["ms"] for r in p["profile"]) - kinds) <= 1e-6 * kinds, p["kind_ms"]
    assert all(r["bytes"] > 0 for r in p["profile"])
    assert p["start_ms"] > 0 and p["restart_ms"] > 0 and p["pipelines_created"] >= 0
print("bench json ok")
EOF
expect_ok "bench --model --json gives phases, rates and both start-ups" "^bench json ok$" \
  bash -c "VKRES_CACHE_DIR='$tuned' '$vkres' bench --model resnet20 --batch 2 --steps 1 --tune cached --json | python3 '$work/check_bench.py'"
expect_ok "bench --model prints the phases" "^  optimizer +other +[0-9.]+ +[0-9.]+ +[0-9.]+%" \
  env VKRES_CACHE_DIR="$tuned" "$vkres" bench --model resnet20 --batch 2 --steps 1 --tune cached
printf '{"format": "vkres-tuning-5", "for": {' > "$(ls "$tuned"/tuning-*.json)"
expect_ok "a corrupt tuning file is ignored with a warning" "ignoring tuning file .*tuned again" \
  env VKRES_CACHE_DIR="$tuned" "$vkres" bench --model resnet20 --batch 2 --steps 1 --tune cached
printf '{"format": "vkres-tuning-4", "for": {}, "kernels": {}}' > "$(ls "$tuned"/tuning-*.json)"
expect_ok "an older vkres's tuning file (no patch forward) is tuned again" \
  "its format is \"vkres-tuning-4\", not this vkres's vkres-tuning-5; the kernels it lists will be tuned again" \
  env VKRES_CACHE_DIR="$tuned" "$vkres" bench --model resnet20 --batch 2 --steps 1 --tune cached
expect_error "tune without a model" 1 "vkres tune: --model is required" "$vkres" tune
expect_error "a bad --tune" 1 "--tune: 'fast' is not a tuning mode \(off, cached, auto, force\)" \
  "$vkres" bench --model resnet20 --batch 2 --tune fast
expect_error "a bad VKRES_TUNE" 1 "VKRES_TUNE: 'always' is not a tuning mode" \
  env VKRES_TUNE=always "$vkres" bench --model resnet20 --batch 2

echo "cli: $passed passed, $failures failed"
[[ $failures -eq 0 ]]
