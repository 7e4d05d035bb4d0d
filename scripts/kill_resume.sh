#!/usr/bin/env bash
# Kill-and-resume equality (issue 5): a run killed with SIGKILL at random moments and resumed
# each time must end with the same summary.json confidences and the same elite images, bit for
# bit, as an uninterrupted run with the same seed.
#   scripts/kill_resume.sh [FOOL_BINARY] [TRIALS] [GENERATIONS] [ENCODING]
set -euo pipefail
fool=${1:-build/fool}
trials=${2:-5}
generations=${3:-200}
encoding=${4:-direct}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--generations "$generations" --seed 7 --encoding "$encoding" --checkpoint-every 7 --dump-every 50 --threads 2)

"$fool" run "${common[@]}" --out "$work/reference" >/dev/null 2>&1

confidences() { /usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print([c["confidence"] for c in s["classes"]], s["evaluations"], s["generations"])' "$1"; }
expected=$(confidences "$work/reference/summary.json")
passed=0
failed=0
for trial in $(seq 1 "$trials"); do
  out="$work/trial$trial"
  "$fool" run "${common[@]}" --out "$out" >/dev/null 2>&1 &
  pid=$!
  # Wait for a random number of generations (at least one row), then SIGKILL.
  target=$(( (RANDOM % (generations - 10)) + 1 ))
  while kill -0 "$pid" 2>/dev/null; do
    rows=$( (wc -l < "$out/progress.csv") 2>/dev/null || echo 0)
    [ "$rows" -gt "$target" ] && break
    sleep 0.01
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  killed_at=$(( $( (wc -l < "$out/progress.csv") 2>/dev/null || echo 1) - 1 ))
  # Resume, killed once more mid-way on odd trials, then to the end.
  if [ $((trial % 2)) -eq 1 ]; then
    "$fool" resume "$out" >/dev/null 2>&1 &
    pid=$!
    sleep 0.$((RANDOM % 9 + 1))
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  "$fool" resume "$out" >/dev/null 2>&1
  got=$(confidences "$out/summary.json")
  if [ "$got" == "$expected" ] && diff -r "$work/reference/elites" "$out/elites" >/dev/null; then
    echo "trial $trial: killed after ~$killed_at generations: summary and elites identical"
    passed=$((passed + 1))
  else
    echo "trial $trial: killed after ~$killed_at generations: DIFFERENT"
    echo "  expected $expected"
    echo "  got      $got"
    failed=$((failed + 1))
  fi
done
echo "kill-resume: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
