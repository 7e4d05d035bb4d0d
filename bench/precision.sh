#!/usr/bin/env bash
# What does a lower-precision forward do to the confidences? For each encoding and seed, evolves
# one run per precision, then scores every run's elites at every precision (`fool evaluate
# --precision`), and prints per (encoding, evolved at, scored at): elites >= 0.99, the lowest and
# the median confidence, and the largest change against the confidence the run itself recorded. The
# question it answers: are images that fool the network at bf16/fp16 still >= 0.99 at fp32, and
# the reverse?
#
# Usage: bench/precision.sh [--fool PATH] [--model FILE] [--device cpu] [--precisions fp32,bf16]
#                           [--encodings direct,cppn] [--seeds 1,2,3] [--generations 250]
#                           [--threads 2] [--keep DIR] [-- more fool run options]
# With a CUDA LibTorch and OpenCV: --device cuda --precisions fp32,bf16,fp16. (The project's GPU
# machine has no OpenCV, so no `fool` binary: there bench/gpu.sh measures fp16/bf16 speed and the
# Gpu tests check their probabilities against fp32.)
set -euo pipefail
cd "$(dirname "$0")/.."

fool=build/fool model=models/lenet_mnist.pt device=cpu precisions=fp32,bf16 encodings=direct,cppn seeds=1,2,3
generations=250 threads=2 keep="" extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --fool) fool="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --precisions) precisions="$2"; shift 2 ;;
    --encodings) encodings="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --generations) generations="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n "2,12p" "$0"; exit 0 ;;
    *) echo "precision.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x "$fool" ]] || { echo "precision.sh: no executable '$fool'. Fix: build it or pass --fool PATH." >&2; exit 2; }
[[ -f "$model" ]] || { echo "precision.sh: no model file '$model'. Fix: pass --model FILE." >&2; exit 2; }
if [[ -n "$keep" ]]; then
  work="$keep"; mkdir -p "$work"
else
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fi

echo "fool: $fool ($("$fool" --version | head -1)); model $model on $device, $threads threads;" \
     "--generations $generations, seeds $seeds ${extra[*]:-}"
for encoding in ${encodings//,/ }; do
  for seed in ${seeds//,/ }; do
    for evolved in ${precisions//,/ }; do
      run="$work/$encoding-s$seed-$evolved"
      "$fool" run --model "$model" --device "$device" --threads "$threads" --precision "$evolved" \
        --encoding "$encoding" --generations "$generations" --seed "$seed" --dump-every 0 --out "$run" --force \
        "${extra[@]}" >"$run.log" 2>&1 || { cat "$run.log" >&2; exit 1; }
      for scored in ${precisions//,/ }; do
        "$fool" evaluate --model "$model" --device "$device" --threads "$threads" --precision "$scored" \
          --out "$run-on-$scored.csv" "$run" >/dev/null || exit 1
      done
    done
  done
done

/usr/bin/python3 - "$work" "$encodings" "$seeds" "$precisions" <<'EOF'
import csv, statistics, sys
work, encodings, seeds, precisions = sys.argv[1], *(a.split(",") for a in sys.argv[2:5])
print(f"{'encoding':9} {'evolved':8} {'scored':7} {'>= 0.99':>12} {'min':>10} {'median':>10} {'max |change|':>13}")
for encoding in encodings:
    for evolved in precisions:
        for scored in precisions:
            values, changes = [], []
            for seed in seeds:
                with open(f"{work}/{encoding}-s{seed}-{evolved}-on-{scored}.csv") as f:
                    for row in csv.DictReader(f):
                        column = next(k for k in row if k.endswith("_confidence") and not k.startswith("source")
                                      and "top1" not in k)
                        value = float(row[column])
                        values.append(value)
                        changes.append(abs(value - float(row["source_confidence"])))
            high = sum(v >= 0.99 for v in values)
            print(f"{encoding:9} {evolved:8} {scored:7} {high:>5}/{len(values):<6} {min(values):10.6f}"
                  f" {statistics.median(values):10.6f}"
                  f" {max(changes):13.2e}")
EOF
