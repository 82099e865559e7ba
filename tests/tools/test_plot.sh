#!/usr/bin/env bash
# End-to-end checks of tools/plot on synthetic runs: the PNGs it writes (signature, pixel size from
# IHDR, both runs' colours drawn, nothing left behind), how it reads resumed runs, and that every
# malformed input fails with exit code 1 and one line on stderr, never a traceback.
#   test_plot.sh REPO_ROOT
set -uo pipefail
root=$(cd "${1:?usage: test_plot.sh REPO_ROOT}" && pwd)
plot=$root/tools/plot
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passed=0
export PYTHONDONTWRITEBYTECODE=1  # loading tools/plot as a module must not write into the repo

fail() {
  echo "FAIL $1"
  failures=$((failures + 1))
}

# An interpreter with matplotlib, for looking at the pixels (tools/plot finds its own).
pixel_python=
for py in python3 /usr/bin/python3; do
  if "$py" -c 'import matplotlib' 2>/dev/null; then
    pixel_python=$py
    break
  fi
done

# make_run DIR MODEL FINAL_ERROR [--no-test] [--every N]: a synthetic run, 12 epochs of 40 steps.
make_run() {
  python3 - "$@" <<'EOF'
import json, math, sys
from pathlib import Path
out, model, final = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
test = "--no-test" not in sys.argv
every = int(sys.argv[sys.argv.index("--every") + 1]) if "--every" in sys.argv else 1
out.mkdir(parents=True)
lines, step = [], 0
for epoch in range(1, 13):
    for _ in range(40):
        step += 1
        error = final + (0.9 - final) * math.exp(-step / 60) + 0.02 * math.sin(step)
        if step % every == 0:
            lines.append({"type": "step", "epoch": epoch, "step": step, "lr": 0.1,
                          "loss": 2.3 * error, "top1": 1 - error, "images_per_s": 50.0,
                          "time_s": step * 0.1})
    record = {"type": "epoch", "epoch": epoch, "step": step, "lr": 0.1,
              "train_loss": 2.3 * error, "train_top1": 1 - error, "time_s": step * 0.1}
    if test:
        record.update(test_loss=2.5 * error, test_top1=1 - 1.2 * error, test_top5=0.99)
    lines.append(record)
(out / "metrics.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
(out / "run.json").write_text(json.dumps({"model": model, "batch": 128}))
EOF
}

# check_png NAME FILE WIDTH HEIGHT: the PNG signature and the IHDR size.
check_png() {
  local name=$1 file=$2 width=$3 height=$4 got
  if [[ ! -f $file ]]; then
    fail "$name: $file was not written"
    return
  fi
  got=$(python3 - "$file" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read(33)
if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
    print("not a PNG")
else:
    print("%dx%d" % struct.unpack(">II", data[16:24]))
EOF
)
  if [[ $got != "${width}x${height}" ]]; then
    fail "$name: $file is '$got', wanted ${width}x${height}"
  else
    passed=$((passed + 1))
  fi
}

# expect_ok NAME WANT_STDOUT CMD...: exit 0 and stdout exactly WANT_STDOUT (the path written).
expect_ok() {
  local name=$1 want=$2
  shift 2
  local out rc
  out=$("$@" 2>"$work/stderr")
  rc=$?
  if [[ $rc -ne 0 || $out != "$want" ]]; then
    fail "$name: rc=$rc, stdout '$out' (wanted '$want'), stderr:"
    head -20 "$work/stderr"
  else
    passed=$((passed + 1))
  fi
}

# expect_error NAME REGEX CMD...: exit 1, nothing on stdout, one line on stderr matching REGEX.
expect_error() {
  local name=$1 regex=$2
  shift 2
  local out err rc
  out=$("$@" 2>"$work/stderr")
  rc=$?
  err=$(<"$work/stderr")
  if [[ $rc -ne 1 || -n $out || $(grep -c '' <<<"$err") -ne 1 ]] || ! grep -Eq -- "$regex" <<<"$err"; then
    fail "$name: rc=$rc (wanted 1), wanted one stderr line matching /$regex/, got stdout '$out', stderr:"
    head -20 <<<"$err"
  else
    passed=$((passed + 1))
  fi
}

make_run "$work/r20" resnet20 0.08
make_run "$work/p20" plain20 0.12

# Two runs: ./runs_plot.png by default, 960x600, both runs' colours drawn.
mkdir "$work/cwd"
expect_ok "two runs" "runs_plot.png" bash -c "cd '$work/cwd' && '$plot' '$work/r20' '$work/p20'"
check_png "two runs" "$work/cwd/runs_plot.png" 960 600
if [[ -n $pixel_python ]]; then
  colours=$("$pixel_python" - "$work/cwd/runs_plot.png" <<'EOF'
import sys
import matplotlib.image
import numpy as np
rgb = matplotlib.image.imread(sys.argv[1])[..., :3]
for hex_colour in ("#1f77b4", "#ff7f0e"):  # C0 and C1
    want = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    print(int((np.abs(rgb - want).max(axis=-1) < 0.02).sum()), end=" ")
EOF
)
  read -r blue orange <<<"$colours"
  if [[ ${blue:-0} -lt 500 || ${orange:-0} -lt 500 ]]; then
    fail "two runs: too few pixels of each run's colour (C0: ${blue:-?}, C1: ${orange:-?})"
  else
    passed=$((passed + 1))
  fi
else
  echo "note: no python3 with matplotlib to look at the pixels; colour check skipped"
fi
leftovers=$(ls -A "$work/cwd")
[[ $leftovers == runs_plot.png ]] && passed=$((passed + 1)) || fail "temporary files left: $leftovers"

# One run: RUN_DIR/plot.png; epochs on x and the loss panel make it 960x900; mode 0644.
expect_ok "one run, epochs, loss" "$work/r20/plot.png" "$plot" "$work/r20" --x epochs --loss
check_png "one run, epochs, loss" "$work/r20/plot.png" 960 900
mode=$(stat -c %a "$work/r20/plot.png")
[[ $mode == 644 ]] && passed=$((passed + 1)) || fail "plot.png has mode $mode, wanted 644 (umask $(umask))"
# Written again over the old one, through -o, with labels, a title and a size.
expect_ok "options" "$work/r20/plot.png" "$plot" "$work/r20" "$work/p20" -o "$work/r20/plot.png" \
  --labels "ResNet-20,plain-20" --title "CIFAR-10" --size 640x480 --smooth 5 --ymax 50
check_png "options" "$work/r20/plot.png" 640 480
leftovers=$(ls -A "$work/r20" | tr '\n' ' ')
[[ $leftovers == "metrics.jsonl plot.png run.json " ]] && passed=$((passed + 1)) ||
  fail "r20 holds: $leftovers"

# No test set, a step record every 7 steps, no run.json, the metrics file named directly.
make_run "$work/notest" resnet56 0.1 --no-test --every 7
rm "$work/notest/run.json"
expect_ok "no test set" "$work/notest/plot.png" "$plot" "$work/notest/metrics.jsonl"
check_png "no test set" "$work/notest/plot.png" 960 600

# Epoch records only; run.json as the trainer writes it ("model": {"name": ...}).
mkdir "$work/epochs_only"
grep '"type": "epoch"' "$work/p20/metrics.jsonl" >"$work/epochs_only/metrics.jsonl"
echo '{"model": {"name": "resnet32", "num_classes": 10}, "model_name": "resnet32"}' \
  >"$work/epochs_only/run.json"
expect_ok "epoch records only" "$work/epochs_only/plot.png" "$plot" "$work/epochs_only" --x epochs
check_png "epoch records only" "$work/epochs_only/plot.png" 960 600

# A run still in its first epoch (step records only, as when training stops early): epochs on x.
mkdir "$work/first_epoch"
head -24 "$work/r20/metrics.jsonl" >"$work/first_epoch/metrics.jsonl"
expect_ok "first epoch" "$work/first_epoch/plot.png" "$plot" "$work/first_epoch" --x epochs --loss
check_png "first epoch" "$work/first_epoch/plot.png" 960 900

# A resumed run: steps 1-6 and epochs 1-2, cut at step 6; resumed from the checkpoint at step 4.
# Later lines win, and what the first attempt logged after step 4 is gone. A diverged loss
# (null), a record type we do not plot, and an unfinished last line (a warning, not an error).
mkdir "$work/resumed"
{
  for s in 1 2 3 4 5 6; do
    echo "{\"type\":\"step\",\"epoch\":$(((s + 1) / 2)),\"step\":$s,\"loss\":1.0,\"top1\":0.5}"
    ((s % 2 == 0)) && echo "{\"type\":\"epoch\",\"epoch\":$((s / 2)),\"step\":$s,\"train_loss\":1,\"train_top1\":0.5,\"test_top1\":0.4}"
  done
  echo '{"type":"note","text":"resumed"}'
  echo '{"type":"step","epoch":3,"step":5,"loss":null,"top1":0.75}'
  printf '{"type":"step","epoch":3,"step":6,"lo'
} >"$work/resumed/metrics.jsonl"
got=$(python3 - "$plot" "$work/resumed/metrics.jsonl" "$work/r20" "$work/notest" "$work/first_epoch" 2>"$work/stderr" <<'EOF'
import importlib.machinery, importlib.util, sys
from pathlib import Path
loader = importlib.machinery.SourceFileLoader("plot", sys.argv[1])
spec = importlib.util.spec_from_loader("plot", loader)
plot = importlib.util.module_from_spec(spec)
loader.exec_module(plot)
steps, epochs = plot.read_metrics(Path(sys.argv[2]))
print([(r.step, r.top1) for r in steps], [(r.epoch, r.step) for r in epochs])
# Steps to epochs through the epoch ends (40 steps an epoch), extrapolated past the last one.
run = plot.load_run(sys.argv[3])
to_epochs = plot.step_to_epoch(run)
print([to_epochs(s) for s in (0, 20, 60, 480, 500)], plot.records_per_epoch(run),
      plot.records_per_epoch(plot.load_run(sys.argv[4])), plot.running_mean([1, 3, 5, 7], 2),
      plot.records_per_epoch(plot.load_run(sys.argv[5])))
EOF
)
want="[(1, 0.5), (2, 0.5), (3, 0.5), (4, 0.5), (5, 0.75)] [(1, 2), (2, 4)]
[0.0, 0.5, 1.5, 12.0, 12.5] 40 6 [1.0, 2.0, 4.0, 6.0] None"
if [[ $got != "$want" ]] || ! grep -q "metrics.jsonl:12: skipping the unfinished last line" "$work/stderr"; then
  fail "resumed run and helpers: got '$got', wanted '$want', stderr: $(cat "$work/stderr")"
else
  passed=$((passed + 1))
fi
expect_ok "resumed run" "$work/resumed/plot.png" "$plot" "$work/resumed"
check_png "resumed run" "$work/resumed/plot.png" 960 600

# Errors: one line, exit 1, and no plot written.
mkdir -p "$work/bad"
bad() {  # bad NAME CONTENT: a run directory whose metrics.jsonl holds CONTENT
  mkdir -p "$work/bad/$1"
  printf '%b' "$2" >"$work/bad/$1/metrics.jsonl"
  echo "$work/bad/$1"
}
step='{"type":"step","epoch":1,"step":1,"loss":2.0,"top1":0.1}\n'
expect_error "no arguments" "plot: error: .*required: RUN_DIR" "$plot"
expect_error "missing directory" "plot: error: $work/nope: no such run directory" "$plot" "$work/nope"
mkdir "$work/bad/no_metrics"
expect_error "missing metrics file" "no_metrics/metrics.jsonl: no such file" "$plot" "$work/bad/no_metrics"
expect_error "empty metrics file" "empty/metrics.jsonl: empty metrics file" "$plot" "$(bad empty '')"
expect_error "blank metrics file" "blank/metrics.jsonl: empty metrics file" "$plot" "$(bad blank '\n \n')"
expect_error "malformed line" "json/metrics.jsonl:3: malformed line, not JSON" \
  "$plot" "$(bad json "$step$step{\"type\":\"step\",\n$step")"
expect_error "line not an object" "array/metrics.jsonl:2: malformed line, expected a JSON object" \
  "$plot" "$(bad array "$step[1, 2]\n")"
expect_error "line without a type" "notype/metrics.jsonl:1: malformed line, the object has no 'type'" \
  "$plot" "$(bad notype '{"step": 3}\n')"
expect_error "binary line" "binary/metrics.jsonl:2: malformed line, not UTF-8" \
  "$plot" "$(bad binary "$step\xff\xfe\n")"
expect_error "step without top1" "notop1/metrics.jsonl:2: step record has no 'top1'" \
  "$plot" "$(bad notop1 "$step{\"type\":\"step\",\"epoch\":1,\"step\":2,\"loss\":1}\n")"
expect_error "percent for a fraction" "percent/metrics.jsonl:1: 'test_top1' must be a fraction in \[0, 1\], got 45" \
  "$plot" "$(bad percent '{"type":"epoch","epoch":1,"step":9,"train_loss":1,"train_top1":0.3,"test_top1":45}\n')"
expect_error "string step" "stringstep/metrics.jsonl:1: 'step' must be an integer >= 0, got \"7\"" \
  "$plot" "$(bad stringstep '{"type":"step","epoch":1,"step":"7","loss":1,"top1":0.5}\n')"
expect_error "no step or epoch records" "other/metrics.jsonl: no step or epoch records" \
  "$plot" "$(bad other '{"type":"note"}\n{"type":"config","lr":0.1}\n')"
expect_error "only an unfinished line" "unfinished/metrics.jsonl: no step or epoch records \\(only an unfinished line\\)" \
  "$plot" "$(bad unfinished '{"type":"step","ep')"
runjson=$(bad runjson "$step")
echo '{"model": ' >"$runjson/run.json"
expect_error "malformed run.json" "runjson/run.json: not valid JSON" "$plot" "$runjson"
expect_error "labels for the wrong number of runs" "--labels: 1 label\(s\) for 2 run\(s\)" \
  "$plot" "$work/r20" "$work/p20" --labels one
expect_error "unknown x axis" "argument --x: invalid choice: 'time'" "$plot" "$work/r20" --x time
expect_error "bad size" "argument --size: want WIDTHxHEIGHT in pixels, got '640'" \
  "$plot" "$work/r20" --size 640
expect_error "output in a missing directory" "-o: directory $work/missing does not exist" \
  "$plot" "$work/r20" -o "$work/missing/out.png"
expect_error "output is a directory" "$work/bad: exists and is not a regular file" \
  "$plot" "$work/r20" -o "$work/bad"
mkfifo "$work/bad/fifo.png"
expect_error "output is a fifo" "fifo.png: exists and is not a regular file" \
  "$plot" "$work/r20" -o "$work/bad/fifo.png"
rm "$work/bad/fifo.png"
written=$(find "$work/bad" -name '*.png' -o -name '*.tmp' | head -3)
[[ -z $written ]] && passed=$((passed + 1)) || fail "failed runs left files: $written"

echo "test_plot: $passed passed, $failures failed"
((failures == 0))
