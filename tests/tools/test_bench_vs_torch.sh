#!/usr/bin/env bash
# End-to-end checks of tools/bench-vs-torch at tiny sizes (batch 2, 1 step): one real run against
# vkres (the table, the JSON fields, and that the two agree), runs against a stand-in vkres (the
# arguments it is given, the ratio, --threads, --json -), the PyTorch models against the state_dict
# vkres describes for every model, and the errors: unknown model, no vkres binary, vkres failing,
# vkres printing no JSON, torch missing, bad arguments (exit 1, nothing on stdout).
#   test_bench_vs_torch.sh REPO_ROOT      (vkres: REPO_ROOT/build/vkres, or $VKRES_BIN)
# Everything runs under nice -n 19: the benchmark shares the machine.
set -uo pipefail
root=$(cd "${1:?usage: test_bench_vs_torch.sh REPO_ROOT}" && pwd)
tool=$root/tools/bench-vs-torch
vkres=${VKRES_BIN:-$root/build/vkres}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passed=0
export PYTHONDONTWRITEBYTECODE=1  # loading the tool as a module must not write into the repo

fail() {
  echo "FAIL $1"
  failures=$((failures + 1))
}

ok() {
  passed=$((passed + 1))
}

bench() {
  nice -n 19 "$tool" "$@"
}

# A stand-in vkres: logs its arguments to $work/fake.log; `devices --json` lists two devices with
# the second selected; `bench` prints fixed numbers, or with FAKE_MODE=fail fails with two lines on
# stderr, or with FAKE_MODE=garbage prints something that is not JSON.
fake=$work/fake-vkres
cat >"$fake" <<'EOF'
#!/usr/bin/env bash
echo "$*" >>"${FAKE_LOG:?}"
case $1 in
  devices)
    echo '{"devices": [{"index": 0, "name": "Other GPU", "type": "discrete", "vendor": "X"},
      {"index": 1, "name": "Fake Device 9000", "type": "integrated", "vendor": "Fake",
       "driver": "fakedrv", "driver_info": "1.2.3"}], "selected": 1}' ;;
  bench)
    case ${FAKE_MODE:-ok} in
      ok) echo '{"train": {"images_per_s": 100.0, "wall_ms": 20.0, "cpu_ms": 19.0, "kind_ms": {}},
                 "eval": {"images_per_s": 400.0, "wall_ms": 5.0, "cpu_ms": 4.0, "kind_ms": {}}}' ;;
      fail) echo "vkres: error: out of device memory (fake)" >&2
            echo "second line of the fake's stderr" >&2
            exit 3 ;;
      garbage) echo "resnet20 batch 2, median of 1 steps" ;;
    esac ;;
  *) echo "fake vkres: unexpected $*" >&2; exit 9 ;;
esac
EOF
chmod +x "$fake"
export FAKE_LOG=$work/fake.log

# expect_error NAME REGEX [--log-empty] -- CMD...: exit 1, nothing on stdout, the first stderr line
# "bench-vs-torch: error: ..." matching REGEX; with --log-empty, the stand-in was never run.
expect_error() {
  local name=$1 regex=$2 log_empty=0
  shift 2
  if [[ $1 == --log-empty ]]; then
    log_empty=1
    shift
  fi
  [[ $1 == -- ]] && shift
  : >"$FAKE_LOG"
  local out err rc
  out=$("$@" 2>"$work/stderr")
  rc=$?
  err=$(grep -v '^bench-vs-torch: \(vkres bench\|PyTorch\) .*\.\.\.$' "$work/stderr")
  if [[ $rc -ne 1 || -n $out ]] || ! head -1 <<<"$err" | grep -Eq -- "^bench-vs-torch: error: .*$regex" ||
    grep -q Traceback <<<"$err"; then
    fail "$name: rc=$rc (wanted 1), wanted a first stderr line matching /$regex/, stdout '$out', stderr:"
    head -20 "$work/stderr"
  elif ((log_empty)) && [[ -s $FAKE_LOG ]]; then
    fail "$name: vkres was run: $(cat "$FAKE_LOG")"
  else
    ok
  fi
}

# ------------------------------------------------------------------------------------------------
# The real thing: vkres, then PyTorch, at batch 2 for 1 step.
if [[ ! -x $vkres ]]; then
  fail "no vkres binary at $vkres (build it, or set VKRES_BIN)"
else
  out=$(bench --model resnet20 --batch 2 --steps 1 --vkres "$vkres" --json "$work/real.json" \
    2>"$work/stderr")
  rc=$?
  if [[ $rc -ne 0 ]]; then
    fail "real run: rc=$rc, stdout '$out', stderr:"
    head -30 "$work/stderr"
  else
    ok
    echo "$out"
    device=$("$vkres" devices --json | python3 -c \
      'import json, sys; d = json.load(sys.stdin); print(d["devices"][d["selected"]]["name"])')
    torch_version=$(/usr/bin/python3 -c 'import torch; print(torch.__version__)')
    cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | xargs)
    for pattern in \
      "^resnet20, batch 2, median of 1 step after a warm-up, [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}" \
      "^images/s +vkres +PyTorch +vkres/PyTorch$" \
      "^training +[0-9.]+ +[0-9.]+ +[0-9.]+x$" \
      "^evaluation +[0-9.]+ +[0-9.]+ +[0-9.]+x$" \
      "^vkres +device [0-9]+: .*; $vkres$" \
      "^PyTorch +torch $torch_version.* on the CPU: $(nproc) threads?, channels_last, mkldnn on$" \
      "^CPU +.*, $(nproc) cores, load average [0-9]+\.[0-9]{2} at the start$" \
      "^wrote $work/real.json$"; do
      grep -Eq -- "$pattern" <<<"$out" && ok || fail "real run: no line matching /$pattern/ in the table"
    done
    grep -qF -- "$device" <<<"$out" && ok || fail "real run: the table does not name the device '$device'"
    [[ -z $cpu ]] || { grep -qF -- "CPU      $cpu," <<<"$out" && ok || fail "real run: the table does not name the CPU '$cpu'"; }
    # The JSON: every field, and the table shows the same numbers.
    check=$(python3 - "$work/real.json" "$device" "$torch_version" "$(nproc)" "$vkres" "$out" <<'EOF' 2>&1
import json, re, sys
path, device, version, cores, binary, table = sys.argv[1:]
r = json.load(open(path))
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)
want(r["model"] == "resnet20" and r["batch"] == 2 and r["steps"] == 1, "model/batch/steps")
want(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d$", r["date"]), f"date {r['date']}")
want(r["cpu"]["cores"] == int(cores) and r["cpu"]["model"]
     and isinstance(r["cpu"]["load_average_at_start"], float), f"cpu {r['cpu']}")
v, t = r["vkres"], r["torch"]
want(v["device"] == device and v["device_info"]["name"] == device, f"device {v['device']}")
want(v["binary"] == binary, f"binary {v['binary']}")
want(set(v["bench"]) >= {"train", "eval"} and "kind_ms" in v["bench"]["train"], "vkres bench JSON")
for side in (v, t):
    for key in ("train_images_per_s", "eval_images_per_s", "train_ms", "eval_ms"):
        want(isinstance(side[key], float) and side[key] > 0, f"{key} {side[key]}")
    want(abs(side["train_images_per_s"] * side["train_ms"] - 2000) < 1e-6 * 2000, "train ms vs images/s")
want(v["train_images_per_s"] == v["bench"]["train"]["images_per_s"], "vkres train images/s")
want(v["eval_images_per_s"] == v["bench"]["eval"]["images_per_s"], "vkres eval images/s")
want(t["version"] == version and t["threads"] == int(cores), f"torch {t['version']} {t['threads']}")
want(t["memory_format"] == "channels_last" and t["mkldnn"] is True, "channels_last, mkldnn")
want(t["parameters"] == 269722 and t["input"] == [3, 32, 32], f"parameters {t['parameters']}")
for key in ("train", "eval"):
    ratio = v[f"{key}_images_per_s"] / t[f"{key}_images_per_s"]
    want(abs(r["ratio"][key] - ratio) < 1e-9 * ratio, f"ratio {key}")
    # The table's row: the same numbers, rounded.
    row = re.search(rf"^{'training' if key == 'train' else 'evaluation'} +(\S+) +(\S+) +(\S+)x$", table, re.M)
    shown = [float(x) for x in row.groups()] if row else []
    want(len(shown) == 3 and abs(shown[0] - v[f"{key}_images_per_s"]) <= 0.0501
         and abs(shown[1] - t[f"{key}_images_per_s"]) <= 0.0501
         and abs(shown[2] - r["ratio"][key]) <= 0.00501, f"table row {key}: {shown}")
print("; ".join(problems) if problems else "ok")
EOF
)
    [[ $check == ok ]] && ok || fail "real run JSON: $check"
    leftovers=$(find "$work" -mindepth 1 -maxdepth 1 -not -name fake-vkres -not -name fake.log \
      -not -name real.json -not -name stderr -printf '%f ')
    [[ -z $leftovers ]] && ok || fail "real run left files: $leftovers"
  fi
fi

# ------------------------------------------------------------------------------------------------
# Against the stand-in: what vkres is asked, the ratio of known numbers, --threads, --json -.
: >"$FAKE_LOG"
out=$(bench --vkres "$fake" --batch 2 --steps 1 --threads 1 --device 1 --json - 2>"$work/stderr")
rc=$?
check=$(python3 - "$FAKE_LOG" "$out" <<'EOF' 2>&1
import json, sys
problems = []
try:
    r = json.loads(sys.argv[2])
except ValueError as e:
    print(f"stdout is not JSON: {e}")
    sys.exit()
log = open(sys.argv[1]).read().splitlines()
if log != ["devices --json --device 1", "bench --model resnet20 --batch 2 --steps 1 --json --device 1"]:
    problems.append(f"vkres was run as {log}")
if r["vkres"]["device"] != "Fake Device 9000" or r["vkres"]["device_info"]["type"] != "integrated":
    problems.append(f"device {r['vkres']['device_info']}")
if r["vkres"]["train_images_per_s"] != 100.0 or r["vkres"]["eval_images_per_s"] != 400.0:
    problems.append("vkres numbers")
if r["torch"]["threads"] != 1:
    problems.append(f"threads {r['torch']['threads']}")
t = r["torch"]
if abs(r["ratio"]["train"] - 100.0 / t["train_images_per_s"]) > 1e-9 * r["ratio"]["train"] or \
   abs(r["ratio"]["eval"] - 400.0 / t["eval_images_per_s"]) > 1e-9 * r["ratio"]["eval"]:
    problems.append(f"ratio {r['ratio']}")
print("; ".join(problems) if problems else "ok")
EOF
)
[[ $rc -eq 0 && $check == ok ]] && ok || { fail "stand-in, --json -: rc=$rc, $check; stderr:"; head -20 "$work/stderr"; }

# The table with the stand-in: the device it selected, 1 thread.
out=$(bench --vkres "$fake" --batch 2 --steps 1 --threads 1 2>"$work/stderr")
rc=$?
if [[ $rc -eq 0 ]] && grep -Eq "^training +100\.0 +[0-9.]+ +[0-9.]+x$" <<<"$out" &&
  grep -Eq "^evaluation +400\.0 " <<<"$out" &&
  grep -q "^vkres    device 1: Fake Device 9000 (integrated, Fake); $fake$" <<<"$out" &&
  grep -Eq "on the CPU: 1 thread, channels_last" <<<"$out"; then
  ok
else
  fail "stand-in table: rc=$rc, stdout:"
  echo "$out"
  head -20 "$work/stderr"
fi

# The PyTorch models are the ones vkres describes: state_dict names and shapes for every model,
# and a forward pass of two images for three of them (CIFAR with option A, plain, ImageNet), where
# the CIFAR ones give the logits of tools/fixture_common.py's model with the same weights.
if [[ -x $vkres ]]; then
  for model in resnet20 resnet32 resnet44 resnet56 resnet110 resnet1202 plain20 plain32 plain44 \
    plain56 plain110 resnet18 resnet34 resnet50 resnet101 resnet152; do
    "$vkres" info --model "$model" --json >"$work/info-$model.json" || fail "vkres info --model $model"
  done
  check=$(nice -n 19 /usr/bin/python3 - "$tool" "$work" <<'EOF' 2>&1
import importlib.machinery, importlib.util, json, sys
from pathlib import Path
loader = importlib.machinery.SourceFileLoader("bench_vs_torch", sys.argv[1])
spec = importlib.util.spec_from_loader("bench_vs_torch", loader)
tool = importlib.util.module_from_spec(spec)
loader.exec_module(tool)
tool.import_torch("resnet18")
import torch
sys.path.insert(0, str(Path(sys.argv[1]).parent))
import fixture_common
reference_options = {"resnet20": "A", "plain20": "none"}
problems = []
for name in tool.MODELS:
    info = json.load(open(f"{sys.argv[2]}/info-{name}.json"))
    want = [(e["name"], e["shape"]) for e in info["state_dict"]]
    model, size, classes = tool.build_model(name)
    got = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    if got != want:
        diff = next((f"{g} != {w}" for g, w in zip(got, want) if g != w), f"{len(got)} != {len(want)} entries")
        problems.append(f"{name}: state_dict differs: {diff}")
    if [size, size, 3] != info["input_hwc"] or classes != info["num_classes"]:
        problems.append(f"{name}: input {size} classes {classes}, vkres {info['input_hwc']} {info['num_classes']}")
    if name in ("resnet20", "plain20", "resnet18"):
        model.eval()
        x = torch.randn(2, 3, size, size)
        with torch.inference_mode():
            y = model(x.contiguous(memory_format=torch.channels_last))
        if list(y.shape) != [2, classes]:
            problems.append(f"{name}: forward gives {list(y.shape)}")
        elif name in reference_options:
            # The same weights in the parity fixtures' CIFAR ResNet give the same logits.
            reference = fixture_common.CifarResNet(3, reference_options[name], 10)
            reference.load_state_dict(model.state_dict())
            reference.eval()
            with torch.inference_mode():
                want_y = reference(x)
            if not torch.allclose(y, want_y, rtol=1e-4, atol=1e-5):
                problems.append(f"{name}: logits differ from tools/fixture_common.py's by "
                                f"{(y - want_y).abs().max().item():.3g}")
print("; ".join(problems) if problems else "ok")
EOF
)
  [[ $check == ok ]] && ok || fail "models against vkres info: $check"
fi

# ------------------------------------------------------------------------------------------------
# Errors: exit 1, nothing on stdout, and a first stderr line that says what went wrong.
expect_error "unknown model" "unknown model 'resnet7' \(models: resnet20, resnet32, .*resnet152\)" \
  --log-empty -- bench --model resnet7 --vkres "$fake"
expect_error "missing --vkres binary" "--vkres: $work/nope: no such file" \
  -- bench --batch 2 --steps 1 --vkres "$work/nope"
# The default binary, in a checkout without build/: how to build it.
mkdir -p "$work/repo/tools"
cp "$tool" "$work/repo/tools/"
expect_error "no build/vkres" "$work/repo/build/vkres not found: build it with tools/setup.sh && cmake -S $work/repo -B $work/repo/build .*--target vkres_cli" \
  -- nice -n 19 "$work/repo/tools/bench-vs-torch" --batch 2 --steps 1
rm -rf "$work/repo"
expect_error "vkres failing" "\`vkres bench --model resnet20 --batch 2 --steps 1 --json\` failed with exit code 3; its stderr:" \
  -- env FAKE_MODE=fail "$tool" --batch 2 --steps 1 --vkres "$fake"
grep -qx "  vkres: error: out of device memory (fake)" "$work/stderr" &&
  grep -qx "  second line of the fake's stderr" "$work/stderr" && ok ||
  { fail "vkres failing: its stderr is not shown:"; cat "$work/stderr"; }
expect_error "vkres printing no JSON" "did not print JSON \(got 'resnet20 batch 2, median of 1 steps'\)" \
  -- env FAKE_MODE=garbage "$tool" --batch 2 --steps 1 --vkres "$fake"
expect_error "bad batch" "argument --batch: want a positive integer, got '0'" --log-empty \
  -- bench --batch 0 --vkres "$fake"
expect_error "unknown option" "unrecognized arguments: --bogus" --log-empty -- bench --bogus --vkres "$fake"
expect_error "--json in a missing directory" "--json: directory $work/missing does not exist" --log-empty \
  -- bench --batch 2 --steps 1 --vkres "$fake" --json "$work/missing/out.json"
expect_error "--tf32 on the CPU" "--tf32 needs --torch-device cuda" --log-empty \
  -- bench --batch 2 --steps 1 --vkres "$fake" --tf32
expect_error "--threads with CUDA" "--threads sets PyTorch's CPU threads; it means nothing with --torch-device cuda" \
  --log-empty -- bench --batch 2 --steps 1 --vkres "$fake" --torch-device cuda --threads 2
expect_error "unknown --torch-device" "argument --torch-device: invalid choice: 'tpu'" --log-empty \
  -- bench --batch 2 --steps 1 --vkres "$fake" --torch-device tpu
# Debian's torch is built without CUDA: asking for it names the interpreter and what it lacks.
if ! /usr/bin/python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  expect_error "no CUDA device" "--torch-device cuda: torch .* under .* sees no CUDA device \(torch.cuda.is_available\(\) is False\)" \
    --log-empty -- bench --batch 2 --steps 1 --vkres "$fake" --torch-device cuda
fi
# Torch missing: an interpreter without torch in place of /usr/bin/python3 (the python3 on PATH,
# where it has none).
bare_python=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
if [[ -n $bare_python ]] && ! "$bare_python" -c 'import torch' 2>/dev/null; then
  expect_error "torch missing" "PyTorch is not installed for .*apt-get install python3-torch" --log-empty \
    -- env BENCH_VS_TORCH_PYTHON="$bare_python" "$tool" --batch 2 --steps 1 --vkres "$fake"
else
  echo "note: no python3 without torch here; the torch-missing error is not checked"
fi

echo "test_bench_vs_torch: $passed passed, $failures failed"
((failures == 0))
