#!/usr/bin/env bash
# Issue 6's GPU check as one unattended script for the device machine (../shared/device/README.md).
# It builds the core, the unit tests and fool-bench against the machine's LibTorch (no OpenCV
# there), runs the CPU/CUDA agreement tests, then measures with fool-bench, most important first:
# LeNet at batch 65,536 and MobileNetV2 CPPN over its 1000 classes at batch 4000 (fp32, fp16,
# fp16 + channels-last), then the batch-size sweep (LeNet 200..16,384, MobileNetV2 400/1000, ten
# crops), LeNet at bf16/fp16. Each figure is printed as soon as it exists; a deadline (BUDGET
# seconds after the build, default 400) skips what would not fit, so a slow step costs its own
# figures, not the rest. Targets: 1,000,000 LeNet evaluations/s; the paper's 2,000,000 ImageNet
# images in under 5 minutes (6,667 evaluations/s).
#
# $OUT gets at most 7 files (the device returns 8): summary.txt (every table, and the summary),
# runs.jsonl (fool-bench's JSON, one line per run), runs.log, tests.log, build.log, nvidia-smi.csv.
#
# Before the call, here: bench/gpu-kit.sh (it prints the call: carry .devkit and the MobileNetV2).
# A dry run of this script on this machine's CPU build (small sizes, no configure):
#   OUT=/tmp/gpu-dry FOOL_BUILD=build FOOL_DEVICE=cpu QUICK=1 bench/gpu.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:?set OUT to the folder for the figures}
device=${FOOL_DEVICE:-cuda}
build=${FOOL_BUILD:-}
mobilenet=models/converted/mobilenet_v2_1.0_224.pt
work=$(mktemp -d)
mkdir -p "$out"
summary="$out/summary.txt"
say() { echo "$*" | tee -a "$summary"; }
step() { say "== $(date +%T) $*"; }
say "fool gpu check: revision $(cat .devkit/REVISION 2>/dev/null || git rev-parse --short=12 HEAD 2>/dev/null || echo unknown), device $device"

if [[ -n ${QUICK:-} ]]; then
  seconds=0.3 rounds=1 big=1024 mid=512 small=4 sweep="200" mobile_sweep="" crops_batch=2 budget=${BUDGET:-120}
else
  seconds=1 rounds=2 big=65536 mid=16384 small=4000 sweep="200 1024 4096" mobile_sweep="400 1000" crops_batch=400
  budget=${BUDGET:-400}
fi

if [[ -z $build ]]; then
  build=build-gpu
  [[ -f .devkit/configure-on-device.sh ]] || { say "no .devkit: run bench/gpu-kit.sh here and carry .devkit"; exit 1; }
  step "configure ($build)"
  if ! bash .devkit/configure-on-device.sh "$build" >"$out/build.log" 2>&1; then
    grep -m5 -B2 -A8 -i 'error' "$out/build.log" | tee -a "$summary"
    exit 1
  fi
  grep -E "GoogleTest|OpenCV|peak GPU|torch|cuda" "$out/build.log" | grep -v '^--.*Looking' | head -8 | tee -a "$summary"
  step "build fool_unit_tests fool-bench"
  if ! ninja -C "$build" -j16 fool_unit_tests fool-bench >>"$out/build.log" 2>&1; then
    step "build failed; the first errors:"
    grep -m3 -B2 -A12 'error' "$out/build.log" | tee -a "$summary"
    step "retrying without the CUDA allocator statistics, then fool-bench alone"
    cmake "$build" -DFOOL_CUDA_MEMORY_STATS=OFF >>"$out/build.log" 2>&1
    ninja -C "$build" -j16 fool_unit_tests fool-bench >>"$out/build.log" 2>&1 ||
      ninja -C "$build" -j16 fool-bench >>"$out/build.log" 2>&1 || { grep -m3 -B2 -A12 'error' "$out/build.log"; exit 1; }
  fi
fi
bench="$build/fool-bench"
deadline=$((SECONDS + budget))

if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$summary"
  nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader -lms 250 >"$out/nvidia-smi.csv" &
  sampler=$!
  trap 'kill $sampler 2>/dev/null' EXIT
fi

if [[ -x $build/tests/fool_unit_tests ]]; then
  step "tests: CPU/CUDA agreement (Gpu.*) and the CPPN renderer (Cppn.*) on this LibTorch"
  timeout 150 "$build/tests/fool_unit_tests" --gtest_filter='Gpu.*:Cppn.*' >"$out/tests.log" 2>&1
  say "tests exit $?: $(grep -cE '^\[       OK \]' "$out/tests.log") ok, failed: $(grep -E '^\[  FAILED  \] [A-Z]' "$out/tests.log" | sort -u | tr '\n' ' ')"
  if [[ $device != cpu ]] && grep -q '^\[  SKIPPED \] Gpu' "$out/tests.log"; then
    say "the Gpu tests skipped: this LibTorch sees no CUDA device; no GPU figures"
    exit 1
  fi
fi

measure() {  # NAME LIMIT fool-bench options...
  local name=$1 limit=$2
  shift 2
  local left=$((deadline - SECONDS))
  if ((left < 15)); then
    say "-- $name: skipped, past the deadline"
    return
  fi
  ((limit > left)) && limit=$left
  step "$name: fool-bench $*"
  if timeout "$limit" "$bench" --device "$device" --seconds "$seconds" --rounds "$rounds" --json "$work/$name.json" "$@" \
    >"$work/$name.log" 2>&1; then
    grep -vE '^(info|warning):' "$work/$name.log" | tee -a "$summary"
    /usr/bin/env python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["run"]=sys.argv[2]; print(json.dumps(j))' \
      "$work/$name.json" "$name" >>"$out/runs.jsonl"
  else
    say "   failed or timed out (exit $?): $(tail -1 "$work/$name.log")"
  fi
  { echo "== $name"; cat "$work/$name.log"; } >>"$out/runs.log"
}

have_mobilenet=0
[[ -f $mobilenet ]] && have_mobilenet=1 || say "no $mobilenet: carry it (bench/gpu-kit.sh checks) for the ImageNet figures"
mobile() { ((have_mobilenet)) && measure "$@" --model "$mobilenet" --encodings cppn; }

measure "lenet-b$big" 60 --batch-size "$big"
mobile "mobilenetv2-cppn-b$small" 60 --batch-size "$small"
if [[ $device != cpu ]]; then
  mobile "mobilenetv2-cppn-b$small-fp16" 60 --batch-size "$small" --precision fp16
  mobile "mobilenetv2-cppn-b$small-fp16-nhwc" 60 --batch-size "$small" --precision fp16 --channels-last
  measure "lenet-b$big-fp16" 45 --batch-size "$big" --precision fp16
fi
measure "lenet-b$big-bf16" 45 --batch-size "$big" --precision bf16
measure "lenet-b$mid" 45 --batch-size "$mid"
mobile "mobilenetv2-cppn-b$crops_batch-crops10" 60 --batch-size "$crops_batch" --crops 10
for b in $mobile_sweep; do mobile "mobilenetv2-cppn-b$b" 45 --batch-size "$b"; done
for b in $sweep; do measure "lenet-b$b" 30 --batch-size "$b"; done

step "summary"
[[ -f $out/runs.jsonl ]] && python3 - "$out/runs.jsonl" <<'EOF' | tee -a "$summary"
import json, sys
rows = []
for line in open(sys.argv[1]):
    j = json.loads(line)
    ips, peak = j["images_per_second"], j.get("peak_gpu_mib", {})
    for measure in sorted(ips):
        if measure == "forward" or measure.endswith("_loop") or measure.endswith("_render"):
            rate = ips[measure]
            note = ""
            if measure.endswith("_loop"):
                note = (f"2M evaluations in {2e6 / rate / 60:.1f} min" if j.get("classes", 0) >= 1000
                        else f"{rate / 1e6:.3f} M evaluations/s")
            rows.append((j["run"], j.get("precision", "fp32") + ("/nhwc" if j.get("channels_last") else ""),
                         j["batch_size"], j.get("crops", 1), measure, rate, rate / ips["forward"],
                         peak.get(measure, -1), note))
print(f"{'run':36} {'prec':9} {'batch':>6} {'crops':>5} {'measure':12} {'images/s':>12} {'x fwd':>7} {'peak MiB':>9}  note")
for r in rows:
    print(f"{r[0]:36} {r[1]:9} {r[2]:>6} {r[3]:>5} {r[4]:12} {r[5]:12.0f} {r[6]:7.3f} {r[7]:9.0f}  {r[8]}")
EOF
rm -rf "$work"
