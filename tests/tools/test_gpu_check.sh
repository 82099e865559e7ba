#!/usr/bin/env bash
# tools/gpu-bundle and tools/gpu-check --smoke on this machine's device: the bundle holds the
# binaries, libraries, layer manifest and driver packages; both stages of the check pass at toy
# sizes through the bundled binaries and write their results; bad use is refused.
#   tests/tools/test_gpu_check.sh REPO_ROOT      (VKRES_BUILD_DIR: a build with the tests)
set -uo pipefail
root=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

bundle=$work/bundle
if ! "$root/tools/gpu-bundle" "$bundle" >"$work/bundle.log" 2>&1; then
  fail "tools/gpu-bundle:"
  tail -20 "$work/bundle.log"
fi
for f in bin/vkres bin/vkres_gpu_tests lib/libvulkan.so.1 lib/libVkLayer_khronos_validation.so \
  layers/VkLayer_khronos_validation.json BUILD; do
  [[ -s $bundle/$f ]] || fail "bundle lacks $f"
done
ls "$bundle"/debs/libglvnd0_*.deb >/dev/null 2>&1 || fail "bundle lacks the libglvnd0 package"
grep -q '"library_path": "../lib/libVkLayer_khronos_validation.so"' "$bundle/layers/VkLayer_khronos_validation.json" ||
  fail "the layer manifest does not point at the bundled layer"
grep -Eq '^needs GLIBC_2\.[0-9]+ GLIBCXX_3\.4\.[0-9]+ or newer$' "$bundle/BUILD" || fail "BUILD: $(cat "$bundle/BUILD")"

for stage in bench tests; do
  out=$work/out-$stage
  mkdir -p "$out"
  if ! GPU_BUNDLE=$bundle OUT=$out nice -n 19 "$root/tools/gpu-check" --smoke "$stage" >"$work/$stage.log" 2>&1; then
    fail "gpu-check --smoke $stage exited $?:"
    tail -30 "$work/$stage.log"
  fi
  grep -q "^== summary ($stage, " "$out/gpu-check.log" || fail "$stage: no summary in gpu-check.log"
done
python3 - "$work/out-bench" "$work/out-tests" <<'PY' || fail "results"
import json, sys, xml.etree.ElementTree as ET
bench, tests = sys.argv[1:]
for name in ("resnet20-b2.json", "resnet20-b3-fp32.json"):
    r = json.load(open(f"{bench}/{name}"))
    assert r["vkres"]["train_images_per_s"] > 0 and r["torch"]["device"] == "cpu", name
assert "conv" in open(f"{bench}/ops.txt").read()
json.load(open(f"{bench}/tuning.json"))
suites = ET.parse(f"{tests}/gpu-tests.xml").getroot()
assert int(suites.get("tests")) >= 2 and int(suites.get("failures")) == 0, suites.attrib
PY

# Bad use: the usage line and exit 2; a missing bundle named.
GPU_BUNDLE=$bundle "$root/tools/gpu-check" bogus >/dev/null 2>"$work/err"
[[ $? -eq 2 ]] && grep -q "^usage: tools/gpu-check \[--smoke\] bench|tests$" "$work/err" || fail "bad stage: $(cat "$work/err")"
GPU_BUNDLE=$work/none "$root/tools/gpu-check" bench >/dev/null 2>"$work/err"
[[ $? -eq 2 ]] && grep -q "error: no bundle at $work/none: run tools/gpu-bundle" "$work/err" || fail "no bundle: $(cat "$work/err")"

echo "test_gpu_check: $failures failed"
((failures == 0))
