#!/usr/bin/env bash
# Generations until every class is >= TARGET (issue 14, item 3; docs/reproduction-audit.md):
# one `fool run` per model, crossover and seed, stopped by --target-confidence, capped at MAX
# generations. Appends one CSV row per run to OUT/results.csv:
#   model,crossover,seed,generations,evaluations,reached,seconds,utc_start
#
#   bench/reproduction_audit.sh OUT "MODEL..." "CROSSOVER..." "SEED..." [MAX] [TARGET]
#
# MODEL is a .pt file or "bundled"; CROSSOVER is none, sbx or sbx-copy-equal.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fool="${FOOL:-$root/build/fool}"
out="$1"; models="$2"; crossovers="$3"; seeds="$4"; max="${5:-400}"; target="${6:-0.9999}"
mkdir -p "$out"
[[ -f $out/results.csv ]] || echo "model,crossover,seed,generations,evaluations,reached,seconds,utc_start" > "$out/results.csv"
for model in $models; do
  name="$(basename "$model" .pt)"
  model_args=()
  [[ $model == bundled ]] || model_args=(--model "$model")
  for crossover in $crossovers; do
    for seed in $seeds; do
      dir="$out/$name-$crossover-s$seed"
      start="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
      "$fool" run "${model_args[@]}" --crossover "$crossover" --seed "$seed" --generations "$max" \
        --target-confidence "$target" --threads 2 --dump-every 0 --checkpoint-every 0 \
        --out "$dir" --force > "$dir.log" 2>&1
      /usr/bin/python3 - "$dir/summary.json" "$name" "$crossover" "$seed" "$target" "$start" >> "$out/results.csv" <<'PY'
import json, sys
path, name, crossover, seed, target, start = sys.argv[1:]
s = json.load(open(path))
def find(d, *keys):
    for k in keys:
        if k in d: return d[k]
    for v in d.values():
        if isinstance(v, dict):
            r = find(v, *keys)
            if r is not None: return r
    return None
gens = find(s, "generations"); evals = find(s, "evaluations"); secs = find(s, "seconds")
conf = find(s, "confidence_min", "min_confidence")
reached = int(conf is not None and conf >= float(target))
print(f"{name},{crossover},{seed},{gens},{evals},{reached},{secs},{start}")
PY
      tail -1 "$out/results.csv"
    done
  done
done
