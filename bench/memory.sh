#!/usr/bin/env bash
# Does fool's resident memory stay flat over a long run? Runs `fool run --generations 1000` for
# each encoding (default: direct, then cppn) while sampling VmRSS from /proc/PID/status and the
# latest generation from the run's progress.csv, and prints the RSS when generation 100 was
# written, when the last generation (999, the 1000th: generation 0 is the random one) was
# written, their ratio (issue 6 target: within 5%), and the RSS every 100 generations.
# RSS swings within a generation (the CPPN loop by ~30 MiB, as large temporaries are allocated and
# handed back to the OS), so one sample depends on where in the generation it fell. For a leak
# check it also prints the peak and median RSS over generations 100-199 against the last 100
# generations, and their ratios.
#
# Usage: bench/memory.sh [--fool PATH] [--encodings direct,cppn] [--generations 1000]
#                        [--threads 2] [--seed 1] [--keep DIR] [-- more fool run options]
set -euo pipefail
cd "$(dirname "$0")/.."

fool=build/fool encodings=direct,cppn generations=1000 threads=2 seed=1 keep="" extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --fool) fool="$2"; shift 2 ;;
    --encodings) encodings="$2"; shift 2 ;;
    --generations) generations="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n "2,13p" "$0"; exit 0 ;;
    *) echo "memory.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x "$fool" ]] || { echo "memory.sh: no executable '$fool'. Fix: build it or pass --fool PATH." >&2; exit 2; }
if [[ -n "$keep" ]]; then
  work="$keep"; mkdir -p "$work"
else
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fi

echo "fool: $fool ($("$fool" --version 2>/dev/null | head -1)); --generations $generations --threads $threads --seed $seed ${extra[*]:-}"
for encoding in ${encodings//,/ }; do
  out="$work/$encoding"
  "$fool" run --encoding "$encoding" --generations "$generations" --threads "$threads" --seed "$seed" \
    --out "$out" --force "${extra[@]}" >/dev/null 2>"$work/$encoding.log" &
  pid=$!
  # The sampler: every 20 ms, (generation in the last complete progress.csv row, VmRSS in KiB).
  /usr/bin/python3 - "$pid" "$out/progress.csv" "$work/$encoding-rss.csv" <<'EOF'
import os, sys, time
pid, progress, samples_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
samples = []
def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None
def last_generation():
    try:
        with open(progress, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 512))
            lines = f.read().split(b"\n")
    except FileNotFoundError:
        return -1
    complete = [l for l in lines[:-1] if l and l[:1].isdigit()]  # the text after the last \n is partial
    return int(complete[-1].split(b",")[0]) if complete else -1
while True:
    try:
        generation, rss = last_generation(), rss_kib()
    except (FileNotFoundError, ProcessLookupError):
        break
    if rss is None:  # a zombie: the run has ended
        break
    samples.append((time.monotonic(), generation, rss))
    time.sleep(0.02)
with open(samples_path, "w") as f:
    f.write("time,generation,rss_kib\n")
    for t, g, r in samples:
        f.write(f"{t:.3f},{g},{r}\n")
EOF
  status=0; wait "$pid" || status=$?
  if ((status != 0)); then echo "memory.sh: fool run --encoding $encoding failed ($status); see $work/$encoding.log" >&2; exit 1; fi
  /usr/bin/python3 - "$encoding" "$work/$encoding-rss.csv" "$generations" <<'EOF'
import csv, sys
encoding, path, generations = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [(int(r["generation"]), int(r["rss_kib"])) for r in csv.DictReader(open(path))]
def at(generation):
    """RSS of the first sample taken once `generation` was the latest row of progress.csv."""
    for g, rss in rows:
        if g >= generation:
            return g, rss
    return None, None
last = generations - 1
g100, rss100 = at(100)
glast, rsslast = at(last)
print(f"\n{encoding}: {len(rows)} samples, peak sampled RSS {max(r for _, r in rows) / 1024:.1f} MiB")
if rss100 is None or rsslast is None:
    print("  the run ended before the sampler saw generation 100 and the last generation")
    sys.exit(1)
ratio = rsslast / rss100
print(f"  RSS at generation {g100}: {rss100 / 1024:.1f} MiB; at generation {glast}: {rsslast / 1024:.1f} MiB; "
      f"ratio {ratio:.4f} ({'within' if abs(ratio - 1) <= 0.05 else 'OUTSIDE'} 5%)")
def window(first, last):
    values = sorted(r for g, r in rows if first <= g <= last)
    return values[-1], values[len(values) // 2]
early, late = window(100, 199), window(generations - 100, generations - 1)
for k, what in ((0, "peak"), (1, "median")):
    ratio = late[k] / early[k]
    print(f"  {what} RSS over generations 100-199: {early[k] / 1024:.1f} MiB; over {generations - 100}-{generations - 1}: "
          f"{late[k] / 1024:.1f} MiB; ratio {ratio:.4f} ({'within' if abs(ratio - 1) <= 0.05 else 'OUTSIDE'} 5%)")
print("  every 100 generations (MiB): " +
      "  ".join(f"{g}:{r / 1024:.1f}" for g, r in (at(x) for x in range(0, generations, 100)) if r is not None) +
      f"  {glast}:{rsslast / 1024:.1f}")
EOF
done
