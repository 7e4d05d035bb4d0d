#!/usr/bin/env bash
# sweep_test.sh: end-to-end test of "fool sweep --slurm" on a real one-node Slurm.
#
#   tests/slurm/sweep_test.sh FOOL_BINARY WORK_DIR      # as root; a few minutes on 2 cores
#
# It starts local_cluster.sh in WORK_DIR/cluster (exit 77 with one "skipped: ..." line when Slurm
# cannot run here), then:
#   1. runs the reference sweep on this machine: fool sweep SPEC --out WORK/ref --jobs 2
#      (SPEC: the bundled LeNet, direct encoding, FOOL_SWEEP_GENERATIONS generations (120),
#      classes 0-9, 1 thread, a checkpoint every 5 generations, grid seed 1..4);
#   2. submits the same SPEC with --slurm to WORK/slurm (the job id alone on stdout);
#   3. once cell 1 has a checkpoint.fool and its array task is RUNNING, requeues that task
#      (scontrol requeue JOB_1): Slurm SIGTERMs it and starts it again about 11 s later;
#   4. waits (at most FOOL_SWEEP_WAIT seconds, 600) until the array has left the queue;
#   5. checks that every task COMPLETED, task 1 ran twice (Restarts=1), and that every cell's
#      summary.json (classes: index, confidence, generation; evaluations) equals the reference's
#      exactly, with stop_reason "generations"; fool report writes sweep.csv (WORK/slurm/report/);
#      fool merge of the Slurm sweep equals fool merge of the reference, elite for elite.
# With FOOL_SWEEP_TIME_LIMIT=1 it also runs one longer cell (FOOL_SWEEP_LIMIT_GENERATIONS, 1000:
# about 45 s of work here) with --slurm-time 1 --slurm-signal-seconds 20: USR1 before the limit
# makes the task checkpoint and requeue itself until the cell is done; its summary must equal the
# local reference's too (about 3 more minutes). slurmctld looks at time limits every 30 s and
# sends the signal at the first look where at most S + 30 s are left, so with a 60 s limit and
# S = 20 each run gets USR1 10 to 40 s after its start.
# It prints one line per check and "N passed, M failed". Exit 0 pass, 1 fail, 77 skip, 2 usage.
# The daemons are stopped by PID whatever happens. WORK_DIR is emptied first (keep it short: the
# cluster's paths go into slurm.conf).
#
# The interface it tests (fool's side of issue 13): a sweep spec is JSON
# {"settings": {fool run setting: value}, "grid": {setting: [values]}}; WORK/sweep.json lists
# "cells": [{"index", "name", "dir" (relative to the sweep directory), "grid" or "settings"}];
# "fool sweep SPEC --out DIR --slurm [--slurm-max-parallel N] [--slurm-time MINUTES]
# [--slurm-partition P] [--slurm-cpus-per-task N] [--slurm-gpus-per-task N] [--slurm-signal-seconds S]"
# writes DIR/sweep.sbatch (array task i runs "fool sweep SPEC --out DIR --task i"), submits it
# with sbatch --parsable and prints the job id.
# Needs: local_cluster.sh's needs, /usr/bin/python3 (or python3), coreutils.

# The helpers are called through check and wait_until, which shellcheck cannot follow:
# shellcheck disable=SC2317
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/slurm/lib.sh
source "$here/lib.sh"

is_job_id() { [[ $1 =~ ^[0-9]+$ ]]; }

# cell_dir SWEEP_DIR INDEX: the run directory of cell INDEX, from SWEEP_DIR/sweep.json.
cell_dir() {
  "$python" - "$1" "$2" <<'EOF'
import json, os, sys
sweep = json.load(open(os.path.join(sys.argv[1], "sweep.json")))
cell = [c for c in sweep["cells"] if c["index"] == int(sys.argv[2])][0]
print(os.path.join(sys.argv[1], cell["dir"]))
EOF
}

# cell1_running: task 1 of $job runs and cell 1 ($cell1) has written a checkpoint.
cell1_running() { job_running "${job}_1" && [[ -s $cell1/checkpoint.fool ]]; }

# task1_restarted: task 1 of $job started again after its requeue (running, or already done).
task1_restarted() {
  local state
  state=$(job_field "${job}_1" JobState)
  [[ $(job_field "${job}_1" Restarts) == 1 && -n $state ]] &&
    [[ $state != PENDING && $state != REQUEUED && $state != COMPLETING && $state != *HOLD* ]]
}

# compare_sweeps REF_DIR SLURM_DIR CELLS: one check per cell: its summary.json (classes: index,
# confidence, generation; evaluations) equals the reference's exactly (floats compare as parsed
# JSON numbers), both with stop_reason "generations"; plus the cell count and plan.
compare_sweeps() {
  local out line
  out=$("$python" - "$@" <<'EOF'
import json, os, sys

ref_dir, slurm_dir, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])

def cells(sweep_dir):
    sweep = json.load(open(os.path.join(sweep_dir, "sweep.json")))
    return {c["index"]: c for c in sweep["cells"]}

def plan(cell):  # what a cell is, whichever of these keys sweep.json carries
    return {k: cell[k] for k in ("name", "dir", "grid", "settings") if k in cell}

def results(sweep_dir, cell):
    summary = json.load(open(os.path.join(sweep_dir, cell["dir"], "summary.json")))
    classes = [(c["index"], c["confidence"], c["generation"]) for c in summary["classes"]]
    return classes, summary["evaluations"], summary.get("stop_reason")

ref, slurm = cells(ref_dir), cells(slurm_dir)
print(("ok" if sorted(ref) == sorted(slurm) and len(ref) == expected else "FAIL")
      + f" the same {len(ref)} cells in both sweeps ({len(slurm)} through Slurm, {expected} expected)")
print(("ok" if all(plan(ref[i]) == plan(slurm.get(i, {})) for i in ref) else "FAIL")
      + " the same plan (name, dir, grid settings) for each cell")
for i in sorted(ref):
    name = ref[i].get("name", i)
    try:
        a, b = results(ref_dir, ref[i]), results(slurm_dir, slurm[i])
    except (OSError, KeyError, ValueError) as e:
        print(f"FAIL cell {i} ({name}): {type(e).__name__}: {e}")
        continue
    problems = []
    if a[2] != "generations" or b[2] != "generations":
        problems.append(f"stop_reason {a[2]!r} (ref) / {b[2]!r} (slurm), expected 'generations'")
    if a[1] != b[1]:
        problems.append(f"evaluations {a[1]} (ref) != {b[1]} (slurm)")
    if a[0] != b[0]:
        diff = [(x, y) for x, y in zip(a[0], b[0]) if x != y] or [(len(a[0]), len(b[0]))]
        problems.append(f"classes differ, first: {diff[0][0]} (ref) != {diff[0][1]} (slurm)")
    print(("ok" if not problems else "FAIL")
          + f" cell {i} ({name}) equals the reference: {len(a[0])} classes, {a[1]} evaluations"
          + ("" if not problems else ": " + "; ".join(problems)))
EOF
  ) || out="FAIL comparing $1 and $2 (python3 failed)"
  while IFS= read -r line; do
    case $line in
    ok\ *) check "${line#ok }" true ;;
    *) check "${line#FAIL }" false ;;
    esac
  done <<<"$out"
}

# same_csv A B: the two sweep.csv tables are equal but for columns about speed (per_second).
same_csv() {
  "$python" - "$1" "$2" <<'EOF'
import csv, sys
def table(path):
    rows = list(csv.DictReader(open(path)))
    return [{k: v for k, v in r.items() if "per_second" not in k} for r in rows]
a, b = table(sys.argv[1]), table(sys.argv[2])
if a != b:
    print(f"sweep.csv differs: {a} != {b}", file=sys.stderr)
sys.exit(a != b)
EOF
}

# Two merged sweeps hold the same elites: per class index, confidence, generation and seed.
same_merge() {
  "$python" - "$1" "$2" <<'EOF'
import json, sys
def classes(path):
    s = json.load(open(path + "/summary.json"))
    return [(c["index"], c["confidence"], c["generation"], c["seed"]) for c in s["classes"]]
a, b = classes(sys.argv[1]), classes(sys.argv[2])
if a != b:
    print(f"merges differ: {a} != {b}", file=sys.stderr)
sys.exit(a != b)
EOF
}

if (($# != 2)); then
  echo "usage: $0 FOOL_BINARY WORK_DIR" >&2
  exit 2
fi
[[ -x $1 ]] || {
  echo "sweep_test: $1 is not an executable" >&2
  exit 2
}
fool=$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3)
generations=${FOOL_SWEEP_GENERATIONS:-120}
wait_seconds=${FOOL_SWEEP_WAIT:-600}

mkdir -p "$2"
work=$(cd "$2" && pwd -P)
# Only what this test made before; never an arbitrary folder's content. A cluster left running
# by an interrupted earlier run is stopped first (by its pid files).
if [[ -d $work/cluster/pids ]]; then "$slurm_dir/local_cluster.sh" stop "$work/cluster" >&2 || true; fi
rm -rf "$work"/{ref,slurm,ref-merged,slurm-merged,ref-limit,slurm-limit,cluster} "$work"/{spec,spec-limit}.json
cluster_up "$work/cluster"

cat >"$work/spec.json" <<EOF
{
  "settings": {"encoding": "direct", "generations": $generations, "classes": "0-9", "threads": 1,
               "checkpoint-every": 5},
  "grid": {"seed": [1, 2, 3, 4]}
}
EOF

# ---- 1. reference, on this machine -------------------------------------------------------------
say "reference sweep: $fool sweep $work/spec.json --out $work/ref --jobs 2"
started=$SECONDS
rc=0
timeout 1200 "$fool" sweep "$work/spec.json" --out "$work/ref" --jobs 2 >"$work/ref.log" 2>&1 || rc=$?
say "reference sweep exited $rc in $((SECONDS - started))s"
check "reference sweep exits 0" test "$rc" = 0
if ((rc != 0)); then
  tail -n 20 "$work/ref.log" >&2
  finish
fi

# ---- 2. the same sweep through Slurm ---------------------------------------------------------
say "submitting: fool sweep ... --out $work/slurm --slurm"
rc=0
(cd "$work" && timeout 120 "$fool" sweep "$work/spec.json" --out "$work/slurm" --slurm \
  --slurm-max-parallel 2 --slurm-time 10 --slurm-partition debug --slurm-cpus-per-task 1 \
  --slurm-signal-seconds 30) >"$work/submit.out" 2>"$work/submit.err" || rc=$?
job=$(tr -d '[:space:]' <"$work/submit.out")
check "fool sweep --slurm exits 0" test "$rc" = 0
check "fool sweep --slurm prints the job id alone on stdout ($(head -c 80 "$work/submit.out"))" \
  is_job_id "$job"
if ((rc != 0)) || ! [[ $job =~ ^[0-9]+$ ]]; then
  cat "$work/submit.err" >&2
  finish
fi
check "sweep.sbatch asks for --requeue" grep -q -- '--requeue' "$work/slurm/sweep.sbatch"
check "sweep.sbatch keeps a requeued task's earlier log (--open-mode=append)" \
  grep -q -- '--open-mode=append' "$work/slurm/sweep.sbatch"

# ---- 3. requeue cell 1's task while it runs -----------------------------------------------------
wait_until 60 "$work/slurm/sweep.json" test -s "$work/slurm/sweep.json" || true
cell1=$(cell_dir "$work/slurm" 1 2>/dev/null) || cell1=""
check "sweep.json lists cell 1" test -n "$cell1"
[[ -n $cell1 ]] || finish
if ! wait_until 300 "cell 1 running with a checkpoint.fool" cell1_running; then
  check "cell 1 ran with a checkpoint" false
  finish
fi
# The requeue must hit a run that has not finished, or the resume is not tested.
finished_before=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("stop_reason", ""))' \
  "$cell1/summary.json" 2>/dev/null) || finished_before=""
t_requeue=$(now)
say "requeueing ${job}_1 (cell 1's checkpoint.fool written at $(date -r "$cell1/checkpoint.fool" +%T))"
check "scontrol requeue ${job}_1" scontrol requeue "${job}_1"
check "cell 1 was requeued before it finished (stop_reason '${finished_before}')" \
  test "$finished_before" != generations

# ---- 4. wait for the array -------------------------------------------------------------------
restarted_at=""
if wait_until "$wait_seconds" "task 1 running again" task1_restarted; then
  restarted_at=$(now)
  say "task 1 running again $(seconds_between "$t_requeue" "$restarted_at") s after the requeue"
fi
wait_until "$wait_seconds" "array $job to leave the queue" queue_empty "$job" || true
say "array $job done $(seconds_between "$t_requeue" "$(now)") s after the requeue"

# ---- 5. checks -----------------------------------------------------------------------------
cells=$("$python" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["cells"]))' \
  "$work/slurm/sweep.json")
check "the array left the queue" queue_empty "$job"
for ((i = 0; i < cells; i++)); do
  check "task ${job}_$i COMPLETED" test "$(job_field "${job}_$i" JobState)" = COMPLETED
done
check "task ${job}_1 ran twice (Restarts=1)" test "$(job_field "${job}_1" Restarts)" = 1

compare_sweeps "$work/ref" "$work/slurm" 4

# The report's table: the same numbers as the reference's, speeds aside.
rc=0
timeout 300 "$fool" report "$work/slurm" >"$work/report.log" 2>&1 || rc=$?
timeout 300 "$fool" report "$work/ref" >>"$work/report.log" 2>&1 || rc=$?
check "fool report exits 0 on both sweeps" test "$rc" = 0
# fool writes it into its report directory, DIR/report/ (the issue said DIR/sweep.csv: both count).
csv=$work/slurm/report/sweep.csv
[[ -e $csv ]] || csv=$work/slurm/sweep.csv
ref_csv=$work/ref/report/sweep.csv
[[ -e $ref_csv ]] || ref_csv=$work/ref/sweep.csv
check "fool report writes sweep.csv (a header and rows) in DIR/report or DIR" \
  test "$({ wc -l <"$csv"; } 2>/dev/null || echo 0)" -ge 2
check "sweep.csv equals the reference's but for the speed columns" same_csv "$ref_csv" "$csv"

# The merge of the Slurm sweep (per class the best elite over its four seeds) equals the merge of
# the reference, and every merged elite is its cell's (pixels and all: bench/check_merge.py).
rc=0
timeout 300 "$fool" merge "$work/slurm-merged" "$work/slurm" >"$work/merge.log" 2>&1 || rc=$?
timeout 300 "$fool" merge "$work/ref-merged" "$work/ref" >>"$work/merge.log" 2>&1 || rc=$?
check "fool merge exits 0 on both sweeps" test "$rc" = 0
check "the merged Slurm sweep equals the merged reference" same_merge "$work/ref-merged" "$work/slurm-merged"
check "every merged elite is the best of the cells (bench/check_merge.py)" \
  "$python" "$here/../../bench/check_merge.py" "$work/slurm-merged" "$work/slurm"

# ---- 6. optional: a time limit, survived by the --signal/USR1 self-requeue ------------------------
if [[ ${FOOL_SWEEP_TIME_LIMIT:-0} == 1 ]]; then
  limit_generations=${FOOL_SWEEP_LIMIT_GENERATIONS:-1000}
  cat >"$work/spec-limit.json" <<EOF
{
  "settings": {"encoding": "direct", "generations": $limit_generations, "classes": "0-9",
               "threads": 1, "checkpoint-every": 5},
  "grid": {"seed": [7]}
}
EOF
  say "time limit: reference of spec-limit.json ($limit_generations generations)"
  rc=0
  timeout 1200 "$fool" sweep "$work/spec-limit.json" --out "$work/ref-limit" --jobs 1 \
    >"$work/ref-limit.log" 2>&1 || rc=$?
  check "time limit: reference sweep exits 0" test "$rc" = 0
  say "time limit: --slurm-time 1 --slurm-signal-seconds 20"
  rc=0
  limit_job=$(timeout 120 "$fool" sweep "$work/spec-limit.json" --out "$work/slurm-limit" --slurm \
    --slurm-time 1 --slurm-signal-seconds 20 --slurm-cpus-per-task 1 2>"$work/submit-limit.err") || rc=$?
  limit_job=$(tr -d '[:space:]' <<<"$limit_job")
  check "time limit: fool sweep --slurm exits 0 with a job id" is_job_id "$limit_job"
  if is_job_id "$limit_job"; then
    t0=$(now)
    wait_until "$wait_seconds" "array $limit_job to leave the queue" queue_empty "$limit_job" || true
    restarts=$(job_field "${limit_job}_0" Restarts)
    say "time limit: the cell took $(seconds_between "$t0" "$(now)") s through Slurm, $restarts requeues"
    check "time limit: task COMPLETED" test "$(job_field "${limit_job}_0" JobState)" = COMPLETED
    check "time limit: its log says it requeued itself" \
      grep -r -q -i requeu "$work/slurm-limit/slurm"
    check "time limit: the task requeued itself at least once (Restarts=$restarts)" \
      test "${restarts:-0}" -ge 1
    compare_sweeps "$work/ref-limit" "$work/slurm-limit" 1
  fi
fi

((failed == 0)) || say "files kept in $work (cluster logs: $work/cluster/log, task logs: $work/slurm/slurm)"
finish
