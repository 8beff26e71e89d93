#!/usr/bin/env bash
# A Manta cluster in a real single-host Slurm (Debian's slurm-wlm): this
# script writes a slurm.conf for one node on 127.0.0.1 into a temporary
# folder, starts munged, slurmctld and slurmd itself, submits the shipped
# sbatch example (deploy/slurm/manta.sbatch, which runs
# deploy/slurm/manta_slurm.sh) with the example program as the driver, and
# checks that its tasks ran on the allocation's worker, a process other than
# the driver. Skips (77) where the daemons are missing or cannot start.
# Every wait has a deadline. Needs MANTA_EXE, HELLO_CLUSTER, MANTA_SOURCE_ROOT.
set -uo pipefail

skip() {
  echo "SKIP: $*"
  exit 77
}
fail() {
  echo "FAIL: $*"
  exit 1
}

: "${MANTA_EXE:?}" "${HELLO_CLUSTER:?}" "${MANTA_SOURCE_ROOT:?}"
# Outside an allocation the script refuses, saying how to run it.
out=$(env -u SLURM_JOB_ID bash "$MANTA_SOURCE_ROOT/deploy/slurm/manta_slurm.sh" -- /bin/true 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "not inside a Slurm allocation.*sbatch" <<<"$out" \
  || fail "manta_slurm.sh outside an allocation: exit $rc, $out"

for tool in munged slurmctld slurmd sbatch scontrol squeue python3; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (tools/setup.sh installs slurm-wlm and munge)"
done
[ "$(id -u)" -eq 0 ] || skip "slurmd must run as root to start job steps"

tmp=$(mktemp -d /tmp/manta-slurm-test.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# munged on a socket of our own, with a fresh key.
mkdir -m 0700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$tmp/munge/munge.key"
munged --foreground --force --socket="$tmp/munge/munge.sock" --key-file="$tmp/munge/munge.key" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" \
  --seed-file="$tmp/munge/munged.seed" >"$tmp/munge/munged.out" 2>&1 &
pids+=($!)
wait_for 10 test -S "$tmp/munge/munge.sock" \
  || skip "munged did not start: $(tail -3 "$tmp/munge/munged.log" 2>/dev/null)"

read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$tmp/state" "$tmp/spool"
export SLURM_CONF="$tmp/slurm.conf"
cat > "$SLURM_CONF" <<EOF
ClusterName=mantatest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmctldTimeout=30
SlurmdTimeout=30
MessageTimeout=10
NodeName=manta1 NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=manta Nodes=manta1 Default=YES MaxTime=5 State=UP
EOF

slurmctld -D -i -f "$SLURM_CONF" >"$tmp/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N manta1 -f "$SLURM_CONF" >"$tmp/slurmd.out" 2>&1 &
pids+=($!)
node_idle() {
  scontrol show node manta1 -o | grep -Eq 'State=IDLE'
}
if ! wait_for 30 node_idle; then
  echo "--- slurmctld log"; tail -5 "$tmp/slurmctld.log" "$tmp/slurmctld.out" 2>/dev/null
  echo "--- slurmd log"; tail -5 "$tmp/slurmd.log" "$tmp/slurmd.out" 2>/dev/null
  skip "slurmctld and slurmd did not bring node manta1 up within 30 s (see the logs above)"
fi

# The shipped example, with this build's programs; sbatch's options take
# precedence over the #SBATCH lines.
start=$SECONDS
job=$(MANTA="$MANTA_EXE" MANTA_SLURM="$MANTA_SOURCE_ROOT/deploy/slurm/manta_slurm.sh" \
      PROGRAM="$HELLO_CLUSTER" \
      sbatch --parsable --nodes=1 --time=2 --chdir="$tmp" --output="$tmp/job.out" \
        "$MANTA_SOURCE_ROOT/deploy/slurm/manta.sbatch") || fail "sbatch refused the job"
job=${job%%;*}
job_done() {
  [ -z "$(squeue -h -j "$job" 2>/dev/null)" ]
}
if ! wait_for 60 job_done; then
  scancel "$job"
  cat "$tmp/job.out"
  fail "job $job did not finish within 60 s"
fi
echo "job $job ran in $((SECONDS - start)) s; its output:"
cat "$tmp/job.out"
state=$(scontrol show job "$job" -o 2>/dev/null | tr ' ' '\n' | sed -n 's/^JobState=//p')
[ -z "$state" ] || [ "$state" = COMPLETED ] || fail "job $job ended $state"

out=$tmp/job.out
grep -q "^sum of squares 1..8 = 204$" "$out" || fail "the driver printed no correct sum"
driver_node=$(sed -n 's/^driver: node \([0-9]*\), pid \([0-9]*\)$/\1/p' "$out")
driver_pid=$(sed -n 's/^driver: node \([0-9]*\), pid \([0-9]*\)$/\2/p' "$out")
task_nodes=$(sed -n 's/^tasks ran on nodes \([0-9,]*\), pids \([0-9,]*\)$/\1/p' "$out")
task_pids=$(sed -n 's/^tasks ran on nodes \([0-9,]*\), pids \([0-9,]*\)$/\2/p' "$out")
[ -n "$driver_node" ] && [ -n "$task_nodes" ] || fail "the driver did not say where the tasks ran"
for n in ${task_nodes//,/ }; do
  [ "$n" != "$driver_node" ] || fail "a task ran on the driver's node $driver_node"
done
for p in ${task_pids//,/ }; do
  [ "$p" != "$driver_pid" ] || fail "a task ran in the driver's process $driver_pid"
done
grep -q "manta_slurm: 1 worker(s) joined" "$out" || fail "the script did not wait for the worker"
# Nothing of the cluster outlives the job.
for p in ${task_pids//,/ }; do
  ! kill -0 "$p" 2>/dev/null || fail "worker pid $p still runs after the job"
done
echo "PASS: the driver's tasks ran on the allocation's worker (node $task_nodes, pid $task_pids)"
