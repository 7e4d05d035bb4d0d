#!/usr/bin/env bash
# Refined layered CPPNs against plain CPPNs on MobileNetV1 0.75, the issue's 10 ImageNet classes,
# at 20,000 forward equivalents (bench/RESULTS.md, "Refined CPPNs made for gradients").
#   bench/refined_cppn.sh OUT_DIR SEED CONFIG...     CONFIG: refined, refined-elites, plain-layered, plain
# Each run writes OUT_DIR/CONFIG-sSEED (run directory, with `fool report`) and its log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:?OUT_DIR}
seed=${2:?SEED}
shift 2
model=models/converted/mobilenet_v1_0.75_192.pt
classes=1,9,22,130,249,340,409,530,817,947
budget=${BUDGET:-20000}  # forward equivalents per run
layered=(--cppn-hidden 16,16,16 --cppn-output logistic --color-space rgb --cppn-init-weight 3)
mkdir -p "$out"
for config in "$@"; do
  case $config in
    refined) settings=("${layered[@]}" --population 10 --refine-steps 50 --refine-lr 0.03) ;;
    refined-elites) settings=("${layered[@]}" --population 10 --refine-steps 50 --refine-lr 0.03 --emitter polynomial,elites) ;;
    plain-layered) settings=("${layered[@]}") ;;
    plain) settings=() ;;
    *) echo "refined_cppn: unknown config '$config' (refined, refined-elites, plain-layered or plain)" >&2; exit 2 ;;
  esac
  run="$out/$config-s$seed"
  build/fool run --model "$model" --classes "$classes" --encoding cppn "${settings[@]}" --threads 2 --batch-size 20 \
    --max-forward-equivalents "$budget" --generations 100000 --dump-every 0 --seed "$seed" --out "$run" --force \
    > "$run.log" 2>&1
  build/fool report "$run" > /dev/null
  echo "$config seed $seed: $(grep -E 'median|TV' "$run/report/report.md" | tr -s ' |' ' ' | paste -sd';')"
done
