# shellcheck shell=bash
# lib.sh: helpers shared by selftest.sh and sweep_test.sh (sourced, not run).
#
#   source "$(dirname "$0")/lib.sh"
#   cluster_up STATE_DIR      # starts local_cluster.sh, exports SLURM_CONF, stops it on EXIT;
#                             # prints the one "skipped:" line and exits 77 when Slurm cannot run
#   wait_until 60 "what" cmd args...   # 0 once cmd succeeds (polled every 0.5 s), 1 on timeout
#   check "name" cmd args...  # runs cmd, prints "ok name" or "FAIL name", counts both
#   finish                    # prints "N passed, M failed", exits 0 or 1
#
# Needs bash 4.3+, coreutils, awk.

slurm_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
passed=0
failed=0
cluster_state=""

say() { echo "[$(date +%T)] $*" >&2; }

now() { date +%s.%N; }

# seconds_between T0 T1: T1 - T0 with one decimal.
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }

cluster_down() {
  [[ -n $cluster_state ]] || return 0
  local started=$SECONDS
  "$slurm_dir/local_cluster.sh" stop "$cluster_state" >&2 || true
  say "cluster stopped in $((SECONDS - started))s"
  cluster_state=""
}

# cluster_up STATE_DIR: start the cluster or exit 77 with its one "skipped:" line.
cluster_up() {
  local out rc=0 started=$SECONDS
  mkdir -p "$1"
  cluster_state=$(cd "$1" && pwd -P)
  trap cluster_down EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  out=$("$slurm_dir/local_cluster.sh" start "$cluster_state" 2>"$cluster_state/start.log") || rc=$?
  if ((rc == 77)); then
    grep '^skipped:' <<<"$out" | tail -n 1
    cluster_state="" # start already stopped what it had started
    exit 77
  elif ((rc != 0)); then
    cat "$cluster_state/start.log" >&2
    echo "skipped: local_cluster.sh start exited $rc: $(tail -n 1 "$cluster_state/start.log")"
    cluster_down
    exit 77
  fi
  export SLURM_CONF=$cluster_state/slurm.conf
  say "cluster up in $((SECONDS - started))s ($SLURM_CONF)"
}

# wait_until SECONDS WHAT COMMAND...: poll COMMAND every 0.5 s; 1 (and a message) on timeout.
wait_until() {
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      say "timed out after ${seconds}s waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}

check() {
  local name=$1
  shift
  if "$@"; then
    echo "ok    $name"
    passed=$((passed + 1))
  else
    echo "FAIL  $name"
    failed=$((failed + 1))
  fi
}

finish() {
  echo "$passed passed, $failed failed"
  if ((failed == 0)); then exit 0; fi
  exit 1
}

# job_field JOB FIELD: FIELD's value in "scontrol show job JOB" (e.g. JobState, Restarts).
job_field() {
  timeout 10 scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | awk -F= -v f="$2" '$1 == f {print $2; exit}'
}

# job_state JOB: the state squeue shows (empty once the job has left the queue).
job_state() { timeout 10 squeue -h -j "$1" -o %T 2>/dev/null | head -n 1; }

job_running() { [[ $(job_state "$1") == RUNNING ]]; }

# queue_empty JOB: no task of JOB is pending, running or completing any more.
queue_empty() {
  local out
  out=$(timeout 10 squeue -h -j "$1" 2>&1) || [[ $out == *"Invalid job id"* ]] || return 1
  [[ -z $out || $out == *"Invalid job id"* ]]
}
