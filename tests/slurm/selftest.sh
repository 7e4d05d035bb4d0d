#!/usr/bin/env bash
# selftest.sh: proves that the local Slurm of local_cluster.sh runs, requeues and signals jobs the
# way fool's sweeps rely on, and prints what it measured.
#
#   tests/slurm/selftest.sh [STATE_DIR]     # about 65 s; as root (installs slurm-wlm)
#
# STATE_DIR (default: a new /tmp/fool-slurm-selftest.XXXXXX, removed when every check passes)
# holds the cluster and the jobs' files. Exit 0: every check passed; 1: a check failed; 77: Slurm
# cannot run here (one "skipped: ..." line says why). The daemons are stopped by PID on exit.
#
# What it runs:
#   A. sbatch --array=0-3%2 of a script (#SBATCH --requeue) whose tasks append a start line to a
#      file, sleep 6 s and log SIGTERM; task 1 is requeued with "scontrol requeue JOB_1" while it
#      runs. Checks: every task ran to its end, task 1 was TERMed and started twice (file and
#      Restarts=1), it went back to PENDING (not held), --open-mode=append kept the first run's
#      output in its log, the array left the queue.
#   B. #SBATCH --no-requeue is honoured: Requeue=0 and scontrol requeue is refused.
#   C. an array task with --time=1 --signal=B:USR1@50 and a USR1 trap in the batch script that
#      stops its worker (a child process) and requeues its own job (scontrol requeue
#      $SLURM_JOB_ID) once: the batch shell gets USR1, the worker does not, the task runs twice
#      and completes.
#   D. --signal=USR1@50 without "B:": in a batch job without job steps nobody gets the signal.
# Needs: bash, coreutils, awk; local_cluster.sh's needs (root, Debian's slurm-wlm and munge).
set -euo pipefail
# shellcheck source=tests/slurm/lib.sh
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"

made_state=0
if (($# >= 1)); then
  state=$1
else
  state=$(mktemp -d /tmp/fool-slurm-selftest.XXXXXX)
  made_state=1
fi
cluster_up "$state"
work=$cluster_state/selftest
rm -rf "$work"
mkdir -p "$work"/{jobs,logs,out}

# write_job NAME: the script on stdin, with @WORK@ replaced, into $work/jobs/NAME.
write_job() {
  sed "s|@WORK@|$work|g" >"$work/jobs/$1"
  chmod +x "$work/jobs/$1"
}

write_job worker.sh <<'EOF'
#!/bin/bash
# worker.sh FILE: stands in for fool: logs USR1 and TERM (then exits 143) into FILE.
f=$1
trap 'echo "worker-USR1 t=$(date +%s.%N)" >>"$f"' USR1
trap 'echo "worker-TERM t=$(date +%s.%N)" >>"$f"; exit 143' TERM
while :; do sleep 0.5; done
EOF

write_job array.sh <<'EOF'
#!/bin/bash
#SBATCH --job-name=selftest-array
#SBATCH --requeue
#SBATCH --output=@WORK@/logs/array_%A_%a.out
#SBATCH --open-mode=append
set -u
f=@WORK@/out/task$SLURM_ARRAY_TASK_ID
echo "start restart=${SLURM_RESTART_COUNT:-0} job=$SLURM_JOB_ID t=$(date +%s.%N)" >>"$f"
echo "log: start restart=${SLURM_RESTART_COUNT:-0}"
trap 'echo "TERM t=$(date +%s.%N)" >>"$f"; kill "$pid" 2>/dev/null; exit 143' TERM
sleep 6 &
pid=$!
wait "$pid"
echo "end t=$(date +%s.%N)" >>"$f"
EOF

write_job norequeue.sh <<'EOF'
#!/bin/bash
#SBATCH --job-name=selftest-norequeue
#SBATCH --no-requeue
#SBATCH --output=@WORK@/logs/norequeue_%j.out
sleep 60
EOF

# C: the pattern a sweep task can use to survive a time limit: on USR1 (sent S seconds before
# the limit to the batch shell only), stop the worker so that it checkpoints, then requeue this
# job; the requeued job starts the script again and the worker resumes.
write_job signal.sh <<'EOF'
#!/bin/bash
#SBATCH --job-name=selftest-signal
#SBATCH --output=@WORK@/logs/signal_%j.out
set -u
f=@WORK@/out/signal
restart=${SLURM_RESTART_COUNT:-0}
echo "start restart=$restart t=$(date +%s.%N)" >>"$f"
@WORK@/jobs/worker.sh "$f" &
worker=$!
usr1=0
trap 'usr1=1; echo "shell-USR1 restart=$restart t=$(date +%s.%N)" >>"$f"' USR1
# bash runs a trap only between commands: wait returns (status > 128) when USR1 arrives.
while ((usr1 == 0)) && kill -0 "$worker" 2>/dev/null; do wait "$worker" || true; done
kill -TERM "$worker" 2>/dev/null
wait "$worker" || true
if ((restart == 0)); then
  echo "requeue t=$(date +%s.%N)" >>"$f"
  scontrol requeue "$SLURM_JOB_ID" # ends this run at once (SIGTERM); the job comes back PENDING
  sleep 30
  echo "not-ended-by-requeue t=$(date +%s.%N)" >>"$f"
fi
echo "end restart=$restart t=$(date +%s.%N)" >>"$f"
EOF

write_job nobatch.sh <<'EOF'
#!/bin/bash
#SBATCH --job-name=selftest-nobatch
#SBATCH --output=@WORK@/logs/nobatch_%j.out
set -u
f=@WORK@/out/nobatch
echo "start t=$(date +%s.%N)" >>"$f"
trap 'echo "shell-USR1 t=$(date +%s.%N)" >>"$f"' USR1
@WORK@/jobs/worker.sh "$f" &
worker=$!
sleep 40 &
wait $! || true
kill -TERM "$worker" 2>/dev/null
wait "$worker" || true
echo "end t=$(date +%s.%N)" >>"$f"
EOF

count() { grep -c -- "$2" "$1" 2>/dev/null || true; }
field_t() { grep -- "$2" "$1" | sed -n "${3:-1}p" | sed 's/.*t=//'; }

# ---- A: job array, requeue of a running task ----------------------------------------------
say "A: job array 0-3%2, requeue task 1 while it runs"
array=$(sbatch --parsable --array=0-3%2 "$work/jobs/array.sh")
array=${array%%;*}
if ! wait_until 60 "task 1 running" job_running "${array}_1" ||
  ! wait_until 10 "task 1's start line" test -s "$work/out/task1"; then
  check "A task 1 started" false
  finish
fi
t_requeue=$(now)
scontrol requeue "${array}_1"
# What the requeued task goes through, sampled for 3 s.
states=""
for _ in $(seq 1 15); do
  s=$(timeout 10 squeue -h -j "${array}_1" -o '%T/%r' 2>/dev/null | head -n 1)
  [[ -n $s && " $states " != *" $s "* ]] && states+="${states:+ }$s"
  sleep 0.2
done
begin_time=$(job_field "${array}_1" EligibleTime)
wait_until 300 "array $array to leave the queue" queue_empty "$array" || true
for i in 0 1 2 3; do
  check "A task $i wrote its start and end" \
    test "$(count "$work/out/task$i" '^start')" -ge 1 -a "$(count "$work/out/task$i" '^end')" -eq 1
done
for i in 0 2 3; do
  check "A task $i ran once" test "$(count "$work/out/task$i" '^start')" -eq 1
done
check "A task 1 got SIGTERM from the requeue" test "$(count "$work/out/task1" '^TERM')" -eq 1
check "A task 1 started twice (restart=0, then restart=1)" \
  test "$(grep -o '^start restart=[0-9]*' "$work/out/task1" 2>/dev/null | tr '\n' ' ')" = \
  "start restart=0 start restart=1 "
check "A scontrol shows Restarts=1 for task 1" test "$(job_field "${array}_1" Restarts)" = 1
check "A task 1 ended COMPLETED" test "$(job_field "${array}_1" JobState)" = COMPLETED
check "A --open-mode=append keeps both runs in task 1's log" \
  test "$(count "$work/logs/array_${array}_1.out" '^log: start')" -eq 2
check "A #SBATCH --requeue gives Requeue=1" test "$(job_field "${array}_1" Requeue)" = 1
check "A requeued task was not held ($states)" bash -c "[[ '$states' == *PENDING* && '$states' != *Held* && '$states' != *HOLD* ]]"
check "A array left the queue" queue_empty "$array"
if [[ -s $work/out/task1 ]]; then
  t_term=$(field_t "$work/out/task1" '^TERM')
  t_restart=$(field_t "$work/out/task1" '^start' 2)
  say "A: requeue -> TERM in the task $(seconds_between "$t_requeue" "${t_term:-$t_requeue}") s;" \
    "requeue -> second start $(seconds_between "$t_requeue" "${t_restart:-$t_requeue}") s;" \
    "EligibleTime (BeginTime) after the requeue: $begin_time (requeued at $(date -d "@${t_requeue%.*}" +%FT%T));" \
    "states seen: $states"
fi

# ---- B: --no-requeue -------------------------------------------------------------------------
say "B: #SBATCH --no-requeue"
norequeue=$(sbatch --parsable "$work/jobs/norequeue.sh")
wait_until 60 "job $norequeue running" job_running "$norequeue" || true
check "B #SBATCH --no-requeue gives Requeue=0" test "$(job_field "$norequeue" Requeue)" = 0
refused=0
refusal=$(scontrol requeue "$norequeue" 2>&1) || refused=1
check "B scontrol requeue is refused ($refusal)" test "$refused" = 1
scancel "$norequeue"
wait_until 30 "job $norequeue to end" queue_empty "$norequeue" || true

# ---- C and D: --signal ------------------------------------------------------------------------
say "C: --time=1 --signal=B:USR1@50 with a trap that requeues; D: --signal=USR1@50 (no B:)"
# An array of one task, as a sweep's tasks are: SLURM_JOB_ID is then the task's own job id.
signal=$(sbatch --parsable --array=0 --time=1 --signal=B:USR1@50 "$work/jobs/signal.sh")
signal=${signal%%;*}_0
nobatch=$(sbatch --parsable --time=1 --signal=USR1@50 "$work/jobs/nobatch.sh")
wait_until 300 "job $signal to leave the queue" queue_empty "$signal" || true
wait_until 120 "job $nobatch to leave the queue" queue_empty "$nobatch" || true
f=$work/out/signal
check "C the batch shell got USR1 in both runs" test "$(count "$f" '^shell-USR1')" -eq 2
check "C the worker (not the batch shell) never got USR1" test "$(count "$f" '^worker-USR1')" -eq 0
check "C the worker was stopped with TERM in both runs" test "$(count "$f" '^worker-TERM')" -eq 2
check "C the self-requeue ended the first run" test "$(count "$f" '^not-ended-by-requeue')" -eq 0
check "C the job ran twice and ended by itself" \
  test "$(count "$f" '^start')" -eq 2 -a "$(count "$f" '^end restart=1')" -eq 1
check "C Restarts=1, JobState=COMPLETED" \
  test "$(job_field "$signal" Restarts)/$(job_field "$signal" JobState)" = 1/COMPLETED
if [[ -s $f ]]; then
  say "C: USR1 came $(seconds_between "$(field_t "$f" '^start')" "$(field_t "$f" '^shell-USR1')") s" \
    "after the first start and $(seconds_between "$(field_t "$f" '^start' 2)" "$(field_t "$f" '^shell-USR1' 2)") s" \
    "after the second (asked: 60 - 50 = 10 s); requeue -> restart" \
    "$(seconds_between "$(field_t "$f" '^requeue')" "$(field_t "$f" '^start' 2)") s"
fi
check "D without B: neither the batch shell nor its child got USR1" \
  test "$(count "$work/out/nobatch" 'USR1')" -eq 0 -a "$(count "$work/out/nobatch" '^end')" -eq 1

if ((failed == 0 && made_state)); then
  cluster_down
  rm -rf "$state"
else
  say "files kept in $state (logs: $state/log, jobs: $work)"
fi
finish
