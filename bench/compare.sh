#!/usr/bin/env bash
# fool run --encoding direct against bench/reference_loop.py (the plain PyTorch loop) at equal
# budget: same model, generations, population, batch size and threads. Runs them alternately
# --repeats times (the order swaps every repeat, so a load drift on a shared machine hits both),
# prints a table per repeat and the medians: speed ratio = fool evaluations/s / reference
# evaluations/s, and the median/min elite confidence each reached at the same evaluations.
#
# On a shared machine other processes' CPU use swings the timings by 10-25x (with --threads 2
# on 2 cores, each parallel op waits for a descheduled thread). So every run also records the CPU
# that *other* processes used while it ran (busy jiffies from /proc/stat minus the run's own
# user+sys, per second of wall time, in cores), and the summary also gives the ratio over the
# quiet repeats only: those where others used less than --quiet cores (default 0.2) during both runs.
# Before each repeat it waits up to --wait-quiet seconds (default 60) for one second in which
# other processes used less than --quiet cores. A third figure needs no quiet run: the 10th
# percentile of the per-generation wall time (fool: differences of progress.csv's seconds column;
# reference: timed in the script), i.e. the speed of each run's least contended generations;
# "p10 ratio" = reference p10 / fool p10.
#
# Usage: bench/compare.sh [--model M] [--generations G] [--population P] [--batch-size B]
#                         [--threads T] [--repeats R] [--fool PATH] [--keep DIR] [--quiet C]
#                         [--wait-quiet S]
#   --model     TorchScript file; default: fool's bundled LeNet for fool and
#               models/lenet_mnist.pt (the same file) for the reference
#   --batch-size  forward chunk size for both (default: the population, one forward a generation)
#   --fool      the binary (default build/fool; copy it elsewhere if someone rebuilds it meanwhile)
#   --keep      keep the run directories and JSON here (default: a temporary directory, removed)
# Seeds: repeat i uses seed i for both programs.
set -euo pipefail
cd "$(dirname "$0")/.."

model="" generations=250 population=200 batch_size="" threads=2 repeats=5 fool=build/fool keep="" quiet=0.2 wait_quiet=60
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --generations) generations="$2"; shift 2 ;;
    --population) population="$2"; shift 2 ;;
    --batch-size) batch_size="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --fool) fool="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --quiet) quiet="$2"; shift 2 ;;
    --wait-quiet) wait_quiet="$2"; shift 2 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
batch_size="${batch_size:-$population}"
[[ -x "$fool" ]] || { echo "compare.sh: no executable '$fool'. Fix: build it or pass --fool PATH." >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "compare.sh: needs /usr/bin/time. Fix: apt-get install time." >&2; exit 2; }

if [[ -n "$keep" ]]; then
  work="$keep"; mkdir -p "$work"
else
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fi

fool_model_args=() reference_model="models/lenet_mnist.pt"
if [[ -n "$model" ]]; then fool_model_args=(--model "$model"); reference_model="$model"; fi

busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
# measured NAME COMMAND...: runs COMMAND under /usr/bin/time and writes $work/NAME.load:
# wall seconds, own user+sys seconds, busy jiffies of the whole machine during the run.
measured() {
  local name="$1"; shift
  local busy0 busy1 start end
  busy0=$(busy_jiffies); start=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$work/$name.time" "$@"
  end=$(date +%s.%N); busy1=$(busy_jiffies)
  echo "$start $end $(cat "$work/$name.time") $busy0 $busy1" >"$work/$name.load"
}

# Waits up to $wait_quiet seconds for a second in which the machine used under $quiet cores.
wait_for_quiet() {
  local waited=0 before after
  while ((waited < wait_quiet)); do
    before=$(busy_jiffies); sleep 1; after=$(busy_jiffies); waited=$((waited + 1))
    if awk -v d=$((after - before)) -v q="$quiet" 'BEGIN{exit !(d / 100.0 < q)}'; then return; fi
  done
}

run_fool() {  # $1 = repeat
  measured "fool-$1" "$fool" run "${fool_model_args[@]}" --encoding direct --generations "$generations" --population "$population" \
    --batch-size "$batch_size" --threads "$threads" --seed "$1" --out "$work/fool-$1" --force >/dev/null 2>"$work/fool-$1.log"
  cp "$work/fool-$1/summary.json" "$work/fool-$1.json"
}
run_reference() {
  measured "reference-$1" /usr/bin/python3 bench/reference_loop.py --model "$reference_model" --generations "$generations" \
    --population "$population" --batch-size "$batch_size" --threads "$threads" --seed "$1" >"$work/reference-$1.json"
}

echo "fool: $fool ($("$fool" --version 2>/dev/null | head -1)); model: ${model:-bundled LeNet / models/lenet_mnist.pt}"
echo "generations $generations x population $population = $((generations * population)) evaluations, batch $batch_size, threads $threads, $repeats repeats"
for ((i = 1; i <= repeats; i++)); do
  wait_for_quiet
  if ((i % 2)); then run_fool "$i"; run_reference "$i"; else run_reference "$i"; run_fool "$i"; fi
  /usr/bin/python3 - "$work" "$i" <<'EOF'
import json, sys
work, i = sys.argv[1], sys.argv[2]
print(f"\nrepeat {i} (seed {i}, {'fool first' if int(i) % 2 else 'reference first'})")
print(f"{'program':<10} {'evaluations':>11} {'seconds':>9} {'evals/s':>9} {'median conf':>12} {'min conf':>12} {'others cores':>13} {'gen p10 ms':>10} {'gen med ms':>10}")
rows = {}
def percentile(values, q):
    values = sorted(values)
    return values[int(q * (len(values) - 1))]
for name in ("fool", "reference"):
    r = rows[name] = json.load(open(f"{work}/{name}-{i}.json"))
    if name == "fool":
        seconds = [float(line.split(",")[2]) for line in open(f"{work}/fool-{i}/progress.csv").readlines()[1:]]
        steps = [b - a for a, b in zip(seconds, seconds[1:])]
        r["generation_seconds_p10"], r["generation_seconds_median"] = percentile(steps, 0.1), percentile(steps, 0.5)
    start, end, user, system, busy0, busy1 = map(float, open(f"{work}/{name}-{i}.load").read().split())
    r["others_cores"] = max(0.0, ((busy1 - busy0) / 100.0 - user - system) / (end - start))
    json.dump(r, open(f"{work}/{name}-{i}.json", "w"))
    print(f"{name:<10} {r['evaluations']:>11} {r['seconds']:>9.2f} {r['evaluations_per_second']:>9.0f} "
          f"{r['median_confidence']:>12.8f} {r['min_confidence']:>12.8f} {r['others_cores']:>13.2f} "
          f"{1000 * r['generation_seconds_p10']:>10.2f} {1000 * r['generation_seconds_median']:>10.2f}")
print(f"speed ratio fool/reference: {rows['fool']['evaluations_per_second'] / rows['reference']['evaluations_per_second']:.3f}"
      f"   p10 ratio: {rows['reference']['generation_seconds_p10'] / rows['fool']['generation_seconds_p10']:.3f}")
EOF
done

/usr/bin/python3 - "$work" "$repeats" "$quiet" <<'EOF'
import json, statistics, sys
work, repeats, quiet = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
load = lambda name, i: json.load(open(f"{work}/{name}-{i}.json"))
runs = [(load("fool", i), load("reference", i)) for i in range(1, repeats + 1)]
ratios = [f["evaluations_per_second"] / r["evaluations_per_second"] for f, r in runs]
def spread(values, fmt):
    return (f"median {fmt.format(statistics.median(values))}  "
            f"(min {fmt.format(min(values))}, max {fmt.format(max(values))}, n={len(values)})")
print("\nsummary over repeats")
print("speed ratio fool/reference:   " + spread(ratios, "{:.3f}"))
quiet_ratios = [x for x, (f, r) in zip(ratios, runs) if max(f["others_cores"], r["others_cores"]) < quiet]
print(f"  quiet repeats (others < {quiet} cores during both runs): " +
      (spread(quiet_ratios, "{:.3f}") if quiet_ratios else "none"))
p10_ratios = [r["generation_seconds_p10"] / f["generation_seconds_p10"] for f, r in runs]
print("p10 ratio (ref p10 / fool p10): " + spread(p10_ratios, "{:.3f}"))
for k, name in ((0, "fool"), (1, "reference")):
    print(f"{name + ' generation p10 (ms):':<30}" + spread([1000 * run[k]["generation_seconds_p10"] for run in runs], "{:.2f}"))
for k, name in ((0, "fool"), (1, "reference")):
    print(f"{name + ' evaluations/s:':<30}" + spread([run[k]["evaluations_per_second"] for run in runs], "{:.0f}"))
for k, name in ((0, "fool"), (1, "reference")):
    print(f"{name + ' median confidence:':<30}" + spread([run[k]["median_confidence"] for run in runs], "{:.8f}"))
for k, name in ((0, "fool"), (1, "reference")):
    print(f"{name + ' min confidence:':<30}" + spread([run[k]["min_confidence"] for run in runs], "{:.8f}"))
EOF
