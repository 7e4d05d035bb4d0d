#!/usr/bin/env bash
# local_cluster.sh: a real one-node Slurm (slurmctld + slurmd + munged) on localhost, for tests.
#
#   tests/slurm/local_cluster.sh start STATE_DIR   # prints "export SLURM_CONF=STATE_DIR/slurm.conf"
#   export SLURM_CONF=STATE_DIR/slurm.conf         # every Slurm client (sbatch, squeue, ...) needs it
#   ...
#   tests/slurm/local_cluster.sh stop STATE_DIR
#
# start installs Debian's slurm-wlm and munge when they are missing (apt-get, needs root), makes a
# munge key and runs munged with its own socket, then writes STATE_DIR/slurm.conf (one node
# "localhost", partition "debug", no accounting, no cgroups) and runs slurmctld and slurmd on it.
# It returns once sinfo shows the node idle (at most FOOL_SLURM_START_TIMEOUT seconds, default 60).
# Every daemon runs as root, in the foreground of a background job; its PID is in
# STATE_DIR/pids/NAME.pid and its log in STATE_DIR/log/NAME.log. Everything it writes is under
# STATE_DIR (created if missing; keep the path short and free of spaces and commas, which
# slurm.conf cannot quote).
#
# stop cancels the cluster's jobs (bounded wait), then sends TERM to exactly the PIDs in those pid
# files (slurmctld, slurmd, munged, in that order), waits up to 10 s for each and KILLs what is
# left. It also ends any slurmstepd that this cluster's slurmd left behind (a job that outlived
# the cancel) and the processes under it: those are recognised by holding
# STATE_DIR/log/slurmd.log open, never by name.
# stop removes nothing; delete STATE_DIR yourself.
#
# Exit status of start: 0 up; 77 when Slurm cannot run here (not installable, a daemon died, the
# node never became idle), after stopping what it started and printing ONE line "skipped: WHY";
# 2 for a usage error. Settings (environment): FOOL_SLURM_CTLD_PORT and FOOL_SLURM_SLURMD_PORT
# (default: the first pair 6817/6818, 6819/6820, ... that nothing listens on), FOOL_SLURM_CPUS (2),
# FOOL_SLURM_START_TIMEOUT (60), FOOL_SLURM_CRED_EXPIRE (10: the seconds a requeued job waits
# before it may start again; Slurm's default is 120).
#
# Needs: Debian 12 (slurm-wlm 22.05, munge 0.5.15) or any system with those on PATH, root.
set -euo pipefail

# Stop order: the controller first; stopped after slurmd, it waits 3 s on an RPC to the dead slurmd.
readonly kDaemons=(slurmctld slurmd munged)

die_usage() {
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
}

log() { echo "local_cluster: $*" >&2; }

# pid_alive PID: whether the process exists and is not a zombie.
pid_alive() {
  local state
  [[ -r /proc/$1/stat ]] || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# read_pid NAME: the PID in STATE/pids/NAME.pid, or nothing.
read_pid() {
  local file="$state/pids/$1.pid"
  [[ -s $file ]] && tr -dc '0-9' <"$file"
  return 0
}

# last_log_line NAME: the last non-empty line of the daemon's log, for the skip message.
last_log_line() {
  local file
  for file in "$state/log/$1.log" "$state/log/$1.out"; do
    if [[ -s $file ]]; then
      grep -v '^[[:space:]]*$' "$file" | tail -n 1 | cut -c1-300
      return 0
    fi
  done
  echo "(no log)"
}

# kill_pids SECONDS PID...: TERM, wait up to SECONDS for them to exit, then KILL the rest.
kill_pids() {
  local seconds=$1 pid deadline alive
  shift
  (($# > 0)) || return 0
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    alive=0
    for pid in "$@"; do pid_alive "$pid" && alive=1; done
    ((alive)) || return 0
    sleep 0.2
  done
  for pid in "$@"; do
    if pid_alive "$pid"; then
      log "pid $pid ignored TERM for ${seconds}s, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

# stepd_pids: slurmstepd processes of this cluster: those (other than our daemons) holding
# STATE_DIR/log/slurmd.log open, as every slurmstepd forked by our slurmd does. (Their environment
# cannot mark them: slurmstepd overwrites it with its process title.)
stepd_pids() {
  local dir pid fd daemon_pids=" $$ "
  for pid in $(read_pid slurmd) $(read_pid slurmctld) $(read_pid munged); do daemon_pids+="$pid "; done
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [[ $daemon_pids == *" $pid "* ]] && continue
    for fd in "$dir"/fd/*; do
      if [[ $(readlink "$fd" 2>/dev/null) == "$state/log/slurmd.log" ]]; then
        echo "$pid"
        break
      fi
    done 2>/dev/null
  done
}

# with_descendants PID...: the PIDs and every process below them (PPid chains through /proc).
with_descendants() {
  local -A parent_of=()
  local dir pid ppid found=" $* " grew=1
  for dir in /proc/[0-9]*; do
    ppid=$(awk '/^PPid:/ {print $2}' "$dir/status" 2>/dev/null) || continue
    [[ -n $ppid ]] && parent_of[${dir#/proc/}]=$ppid
  done
  while ((grew)); do
    grew=0
    for pid in "${!parent_of[@]}"; do
      if [[ $found != *" $pid "* && $found == *" ${parent_of[$pid]} "* ]]; then
        found+="$pid "
        grew=1
      fi
    done
  done
  echo "$found"
}

stop_cluster() {
  local name pid ids deadline pids=() stepds=()
  # Cancel the jobs while the controller is still up, so that slurmstepd ends them cleanly.
  pid=$(read_pid slurmctld)
  if [[ -n $pid ]] && pid_alive "$pid" && [[ -r $state/slurm.conf ]]; then
    ids=$(SLURM_CONF=$state/slurm.conf timeout 10 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ') || ids=""
    if [[ -n ${ids// /} ]]; then
      log "cancelling jobs: $ids"
      # shellcheck disable=SC2086  # the job ids are meant to split
      SLURM_CONF=$state/slurm.conf timeout 10 scancel $ids 2>/dev/null || true
      deadline=$((SECONDS + 20))
      while ((SECONDS < deadline)); do
        pid=$(read_pid slurmd)
        if [[ -z $pid ]] || ! pid_alive "$pid"; then
          break # no slurmd: nothing will end the jobs
        fi
        ids=$(SLURM_CONF=$state/slurm.conf timeout 10 squeue -h -o %A 2>/dev/null) || break
        [[ -z $ids ]] && break
        sleep 0.5
      done
    fi
  fi
  for name in "${kDaemons[@]}"; do
    pid=$(read_pid "$name")
    if [[ -n $pid ]] && pid_alive "$pid"; then
      kill_pids 10 "$pid"
      pids+=("$pid")
    fi
    if [[ $name == slurmd ]]; then
      mapfile -t stepds < <(stepd_pids)
      if ((${#stepds[@]} > 0)); then
        # shellcheck disable=SC2207  # PIDs, split on spaces
        stepds=($(with_descendants "${stepds[@]}"))
        log "ending slurmstepd left by this cluster, and its job processes: ${stepds[*]}"
        kill_pids 5 "${stepds[@]}"
      fi
    fi
    rm -f "$state/pids/$name.pid"
  done
  ((${#pids[@]} == 0)) || log "stopped ${pids[*]}"
}

# skip WHY: stop what start started, print the one skip line, exit 77.
skip() {
  stop_cluster >/dev/null 2>&1 || true
  echo "skipped: $*"
  exit 77
}

install_packages() {
  local missing=() cmd
  for cmd in munged mungekey slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  ((${#missing[@]} == 0)) && return 0
  if ((EUID != 0)); then
    skip "Slurm is not installed (${missing[*]} missing) and installing it needs root"
  fi
  command -v apt-get >/dev/null 2>&1 || skip "Slurm is not installed (${missing[*]} missing) and there is no apt-get"
  log "installing slurm-wlm and munge (${missing[*]} missing)"
  local apt=(timeout 900 apt-get -qq -y --no-install-recommends -o DPkg::Lock::Timeout=120 install slurm-wlm munge)
  if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" >"$state/log/apt.log" 2>&1; then
    log "apt-get install failed, running apt-get update first"
    timeout 600 apt-get -qq -o DPkg::Lock::Timeout=120 update >>"$state/log/apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" >>"$state/log/apt.log" 2>&1 ||
      skip "apt-get install slurm-wlm munge failed: $(tail -n 1 "$state/log/apt.log")"
  fi
  for cmd in "${missing[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || skip "$cmd still missing after installing slurm-wlm and munge"
  done
}

# port_in_use PORT: whether a TCP socket listens on PORT (IPv4 or IPv6), from /proc/net.
port_in_use() {
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v port="$hex" '$4 == "0A" && substr($2, length($2) - 4) == port {found = 1} END {exit !found}' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

write_config() {
  local ctld_port=${FOOL_SLURM_CTLD_PORT:-} slurmd_port=${FOOL_SLURM_SLURMD_PORT:-}
  local cpus=${FOOL_SLURM_CPUS:-2} port
  if [[ -z $ctld_port || -z $slurmd_port ]]; then
    # The first free pair from Slurm's own 6817/6818, so that two test clusters can coexist.
    for ((port = 6817; port < 6917; port += 2)); do
      if ! port_in_use "$port" && ! port_in_use $((port + 1)); then break; fi
    done
    ctld_port=${ctld_port:-$port}
    slurmd_port=${slurmd_port:-$((port + 1))}
  fi
  cat >"$state/slurm.conf" <<EOF
# Written by tests/slurm/local_cluster.sh: a one-node test cluster on localhost.
ClusterName=fooltest
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
# munge through our own munged; cred_expire also sets how long a requeued job waits before it
# may start again (its BeginTime becomes now + cred_expire + 1; the default 120 s, minimum 5).
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge/munge.socket,cred_expire=${FOOL_SLURM_CRED_EXPIRE:-10}
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No systemd, no cgroups: processes are tracked through /proc, tasks are not confined.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
JobRequeue=1
ReturnToService=2
KillWait=5
# Finished jobs stay visible to scontrol show job for 10 minutes.
MinJobAge=600
InactiveLimit=0
Waittime=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  # cgroup.conf is read only by cgroup plugins, none of which is configured; an explicit file
  # keeps slurmd from looking for one elsewhere.
  cat >"$state/cgroup.conf" <<EOF
# Written by tests/slurm/local_cluster.sh: no cgroup plugin is configured in slurm.conf.
CgroupPlugin=autodetect
IgnoreSystemd=yes
EOF
}

# wait_for SECONDS DAEMON WHAT COMMAND...: run COMMAND every 0.5 s until it succeeds; skips at
# once when DAEMON dies, returns 1 after SECONDS.
wait_for() {
  local seconds=$1 daemon=$2 what=$3 deadline
  shift 3
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    require_alive "$daemon"
    ((SECONDS < deadline)) || {
      log "timed out after ${seconds}s waiting for $what"
      return 1
    }
    sleep 0.5
  done
}

# launch NAME COMMAND...: run a daemon in the foreground of a background job; record its PID.
launch() {
  local name=$1
  shift
  "$@" </dev/null >"$state/log/$name.out" 2>&1 &
  echo "$!" >"$state/pids/$name.pid"
}

# require_alive NAME: skip when the daemon has died.
require_alive() {
  local pid
  pid=$(read_pid "$1")
  if [[ -z $pid ]] || ! pid_alive "$pid"; then
    skip "$1 exited: $(last_log_line "$1")"
  fi
}

node_idle() {
  [[ $(SLURM_CONF=$state/slurm.conf timeout 5 sinfo -h -n localhost -o %t 2>/dev/null) == idle ]]
}

start_cluster() {
  local name pid timeout=${FOOL_SLURM_START_TIMEOUT:-60} started=$SECONDS
  mkdir -p "$state"/{pids,log,munge,ctld,spool,run}
  for name in "${kDaemons[@]}"; do
    pid=$(read_pid "$name")
    if [[ -n $pid ]] && pid_alive "$pid"; then
      echo "local_cluster: $name (pid $pid) of $state is already running; stop it first" >&2
      exit 2
    fi
  done
  install_packages
  ((EUID == 0)) || skip "the daemons run as root (SlurmUser=root) and this is uid $EUID"

  # munge: a fresh key, readable by root (munged's user) only.
  rm -f "$state/munge/munge.key"
  if ! mungekey --create --keyfile="$state/munge/munge.key" >"$state/log/mungekey.log" 2>&1; then
    skip "mungekey failed: $(tail -n 1 "$state/log/mungekey.log")"
  fi
  chmod 0400 "$state/munge/munge.key"
  chmod 0755 "$state/munge"   # clients need to reach the socket; the key itself is 0400
  # munged runs as root here (fine for munge 0.5.15); --force turns its refusals of a stale socket
  # and of group/other-writable directories on the path of its files (a STATE_DIR under a shared
  # folder) into warnings.
  launch munged munged --foreground --force --key-file="$state/munge/munge.key" \
    --socket="$state/munge/munge.socket" --pid-file="$state/run/munged.pid" \
    --log-file="$state/log/munged.log" --seed-file="$state/munge/munged.seed"
  if ! wait_for 15 munged "munged's socket" bash -c "munge -n -S '$state/munge/munge.socket' | unmunge -S '$state/munge/munge.socket'"; then
    require_alive munged
    skip "munged does not answer on $state/munge/munge.socket: $(last_log_line munged)"
  fi

  write_config
  launch slurmctld slurmctld -D -c -i -f "$state/slurm.conf"
  if ! wait_for 30 slurmctld "slurmctld" env SLURM_CONF="$state/slurm.conf" timeout 5 scontrol ping; then
    require_alive slurmctld
    skip "slurmctld does not answer: $(last_log_line slurmctld)"
  fi
  require_alive slurmctld
  launch slurmd slurmd -D -N localhost -f "$state/slurm.conf"
  local left=$((timeout - (SECONDS - started)))
  ((left > 5)) || left=5
  if ! wait_for "$left" slurmd "node localhost idle" node_idle; then
    require_alive slurmd
    require_alive slurmctld
    skip "node localhost is not idle after ${timeout}s: $(SLURM_CONF=$state/slurm.conf timeout 5 sinfo -h -N -o '%N %T %E' 2>&1 | head -n 1)"
  fi
  log "up in $((SECONDS - started))s: munged $(read_pid munged), slurmctld $(read_pid slurmctld), slurmd $(read_pid slurmd)"
  echo "export SLURM_CONF=$state/slurm.conf"
}

(($# == 2)) || die_usage
mkdir -p "$2"
state=$(cd "$2" && pwd -P)
case "$state" in
*[[:space:],=]*)
  echo "local_cluster: STATE_DIR must not contain spaces, commas or '=': $state" >&2
  exit 2
  ;;
esac
case $1 in
start) start_cluster ;;
stop) stop_cluster ;;
*) die_usage ;;
esac
