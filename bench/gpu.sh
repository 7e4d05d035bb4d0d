#!/usr/bin/env bash
# Issue 6's GPU check as one script for the device machine (../shared/device/README.md). It builds
# the core, the unit tests and fool-bench against the machine's LibTorch, runs the CPU/CUDA
# agreement tests, then measures with fool-bench: the bundled LeNet (direct and CPPN) at batch
# sizes 200 to 65,536, LeNet at bf16 and fp16, and MobileNetV2 with CPPN over its 1000 classes
# (1 and 10 crops). Every figure goes to $OUT as JSON with its log; $OUT/summary.txt has the
# table, with evaluations/s against the targets (1,000,000 LeNet evaluations/s; the paper's
# 2,000,000 ImageNet images in under 5 minutes, i.e. 6,667 evaluations/s).
#
# On the device (session tool `run`), after `bash ../shared/device/make-kit.sh` here:
#   command: bash bench/gpu.sh        carry: [".devkit", "models/converted/mobilenet_v2_1.0_224.pt"]
#   timeout_s: 540 (each step has its own timeout, so a slow step costs its figures, not the rest)
# A dry run of the script itself on this machine's CPU build (small sizes, no configure):
#   OUT=/tmp/gpu-dry FOOL_BUILD=build FOOL_DEVICE=cpu QUICK=1 bench/gpu.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:?set OUT to the folder for the figures}
device=${FOOL_DEVICE:-cuda}
build=${FOOL_BUILD:-}
mobilenet=models/converted/mobilenet_v2_1.0_224.pt
mkdir -p "$out"
summary="$out/summary.txt"
step() { echo "== $(date +%T) $*" | tee -a "$summary"; }

if [[ -n ${QUICK:-} ]]; then
  lenet_batches="200 1024" precision_batch=1024 mobile_batches="4" mobile_crops_batch=2 seconds=0.5 rounds=1
else
  lenet_batches="200 1024 4096 16384 65536" precision_batch=65536 mobile_batches="400 1000 4000"
  mobile_crops_batch=400 seconds=1 rounds=3
fi

if [[ -z $build ]]; then
  build=build-gpu
  step "configure ($build)"
  bash .devkit/configure-on-device.sh "$build" >"$out/cmake.log" 2>&1 || { tail -40 "$out/cmake.log"; exit 1; }
  step "build fool_unit_tests fool-bench"
  if ! ninja -C "$build" -j16 fool_unit_tests fool-bench >"$out/build.log" 2>&1; then
    step "build failed (tail of build.log below); retrying without the CUDA allocator statistics"
    tail -20 "$out/build.log" | tee -a "$summary"
    cmake "$build" -DFOOL_CUDA_MEMORY_STATS=OFF >>"$out/cmake.log" 2>&1
    ninja -C "$build" -j16 fool_unit_tests fool-bench >>"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
  fi
fi
bench="$build/fool-bench"

if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$summary"
  nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader -lms 250 >"$out/nvidia-smi.csv" &
  sampler=$!
  trap 'kill $sampler 2>/dev/null' EXIT
fi

step "tests: CPU/CUDA agreement (Gpu.*) and the CPPN renderer (Cppn.*) on this LibTorch"
timeout 180 "$build/tests/fool_unit_tests" --gtest_filter='Gpu.*:Cppn.*' >"$out/tests.log" 2>&1
echo "tests exit $?: $(grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$out/tests.log" | tr '\n' ' ')" | tee -a "$summary"

measure() {  # NAME TIMEOUT fool-bench options...
  local name=$1 limit=$2
  shift 2
  step "$name: fool-bench $*"
  timeout "$limit" "$bench" bench --device "$device" --seconds "$seconds" --rounds "$rounds" --json "$out/$name.json" "$@" \
    >"$out/$name.log" 2>&1 || echo "  $name failed or timed out (exit $?): $(tail -1 "$out/$name.log")" | tee -a "$summary"
}

for b in $lenet_batches; do measure "lenet-b$b" 120 --batch-size "$b"; done
for p in bf16 fp16; do
  [[ $device == cpu && $p == fp16 ]] && continue
  measure "lenet-b$precision_batch-$p" 90 --batch-size "$precision_batch" --precision "$p"
done
if [[ -f $mobilenet ]]; then
  for b in $mobile_batches; do measure "mobilenetv2-cppn-b$b" 120 --model "$mobilenet" --encodings cppn --batch-size "$b"; done
  measure "mobilenetv2-cppn-b$mobile_crops_batch-crops10" 120 --model "$mobilenet" --encodings cppn \
    --batch-size "$mobile_crops_batch" --crops 10
  if [[ $device != cpu ]]; then
    measure "mobilenetv2-cppn-b4000-fp16" 120 --model "$mobilenet" --encodings cppn --batch-size 4000 --precision fp16
    measure "mobilenetv2-cppn-b4000-fp16-nhwc" 120 --model "$mobilenet" --encodings cppn --batch-size 4000 \
      --precision fp16 --channels-last
  fi
else
  step "no $mobilenet: carry it (scripts/prepare_models.sh makes it) for the ImageNet figures"
fi

step "summary"
python3 - "$out" <<'EOF' | tee -a "$summary"
import glob, json, os, sys
rows = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    j = json.load(open(path))
    name = os.path.basename(path)[:-5]
    ips, peak = j["images_per_second"], j.get("peak_gpu_mib", {})
    if j.get("channels_last"):
        name += " (NHWC)"
    for measure in sorted(ips):
        if measure == "forward" or measure.endswith("_loop"):
            rate = ips[measure]
            note = ""
            if measure.endswith("_loop") and "mobilenet" in name:
                note = f"2M evaluations in {2e6 / rate / 60:.1f} min"
            elif measure.endswith("_loop"):
                note = f"{rate / 1e6:.2f} M evaluations/s"
            rows.append((name, j.get("precision", "fp32"), j["batch_size"], j.get("crops", 1), measure, rate,
                         ips[measure] / ips["forward"], peak.get(measure, -1), note))
print(f"{'run':34} {'prec':5} {'batch':>6} {'crops':>5} {'measure':11} {'images/s':>12} {'x fwd':>6} {'peak MiB':>9}  note")
for r in rows:
    print(f"{r[0]:34} {r[1]:5} {r[2]:>6} {r[3]:>5} {r[4]:11} {r[5]:12.0f} {r[6]:6.3f} {r[7]:9.0f}  {r[8]}")
EOF
