#!/usr/bin/env bash
# Runs a Manta cluster inside a Slurm allocation and a driver on it
# (docs/deploy.md, "Slurm"):
#   - the head on the first node of the allocation (where the batch script
#     runs), started with `manta start --head`;
#   - a worker on every node of the allocation: one `srun` step running
#     PROGRAM --manta-worker on each (the same binary as the driver: it
#     knows every MANTA_REMOTE function);
#   - PROGRAM ARGS as the driver, joined to the head, with no CPUs of its own
#     (MANTA_DRIVER_CPUS) so its tasks run on the workers.
# When the driver ends, the workers and the head are stopped and the script
# exits with the driver's status.
#
# usage, in an sbatch script or under salloc:
#   manta_slurm.sh [--manta=PATH] [--num-cpus=N] [--timeout=SECONDS] -- PROGRAM [ARGS...]
#     --manta      the `manta` command (default: $MANTA, else `manta` in PATH)
#     --num-cpus   CPUs each worker offers (default: the CPUs Slurm gave the job on its node)
#     --timeout    how long to wait for the head and every worker (default 60)
# environment:
#   MANTA_TOKEN        the cluster token (default: a fresh random one; it reaches the
#                      workers in srun's environment, never on a command line)
#   MANTA_DRIVER_CPUS  CPUs the driver runs tasks on itself (default 0)
#   MANTA_TLS_CERT/KEY/CA, MANTA_TRANSPORT  as for `manta start` (inherited by every process)
# Each process listens on its node's address as Slurm knows it (the node's
# NodeAddr, resolved), so the allocation's nodes must reach each other there.
set -uo pipefail

die() {
  echo "manta_slurm: $*" >&2
  exit 2
}

# This node's address as Slurm reaches it: its NodeAddr, resolved to IPv4.
node_ip() {
  local name=${SLURMD_NODENAME:-$(hostname -s)} addr
  addr=$(scontrol show node "$name" -o 2>/dev/null | tr ' ' '\n' | sed -n 's/^NodeAddr=//p')
  [ -n "$addr" ] || addr=$name
  getent ahostsv4 "$addr" | awk '{ print $1; exit }'
}

# A folder of this job's own on each node for pid files, address and logs.
export MANTA_RUNTIME_DIR="${TMPDIR:-/tmp}/manta-$(id -u)-slurm-${SLURM_JOB_ID:-none}"

# The worker step (one task per node, started by the driver's side below).
if [ "${1:-}" = "--worker-step" ]; then
  head=$2 cpus=$3 program=$4
  MANTA_NODE_IP=$(node_ip) || die "cannot resolve the address of node ${SLURMD_NODENAME:-?}"
  export MANTA_NODE_IP
  [ -n "$cpus" ] || cpus=${SLURM_CPUS_ON_NODE:-1}
  exec "$program" --manta-worker --address="$head" --num-cpus="$cpus"
fi

[ -n "${SLURM_JOB_ID:-}" ] || die "not inside a Slurm allocation (no SLURM_JOB_ID); submit a \
script that calls this one with sbatch (see deploy/slurm/manta.sbatch) or run it under salloc"

manta=${MANTA:-manta} cpus="" timeout=60
while [ $# -gt 0 ]; do
  case $1 in
    --manta=*) manta=${1#*=} ;;
    --num-cpus=*) cpus=${1#*=} ;;
    --timeout=*) timeout=${1#*=} ;;
    --) shift; break ;;
    *) die "unknown option '$1'; usage: manta_slurm.sh [--manta=PATH] [--num-cpus=N] \
[--timeout=SECONDS] -- PROGRAM [ARGS...]" ;;
  esac
  shift
done
[ $# -gt 0 ] || die "no program: give the driver after --, e.g. manta_slurm.sh -- ./my_app"
[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout=$timeout is not a number of seconds"
command -v "$manta" >/dev/null || die "cannot find the manta command '$manta'; give --manta=PATH \
or set MANTA"
program=$(command -v "$1") || die "cannot find the program '$1'"
program=$(readlink -f "$program")
shift
self=$(readlink -f "${BASH_SOURCE[0]}")

if [ -z "${MANTA_TOKEN:-}" ]; then
  MANTA_TOKEN=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  export MANTA_TOKEN
fi
MANTA_NODE_IP=$(node_ip) || die "cannot resolve this node's address"
[ -n "$MANTA_NODE_IP" ] || die "cannot resolve this node's address (NodeAddr of ${SLURMD_NODENAME:-?})"
export MANTA_NODE_IP

workers_pid=""
cleanup() {
  if [ -n "$workers_pid" ] && kill -0 "$workers_pid" 2>/dev/null; then
    # SIGTERM to the workers themselves (they leave the cluster and exit),
    # then srun ends; signalling srun instead would kill them at once.
    local step
    step=$(squeue -h -s -j "$SLURM_JOB_ID" -o '%i %j' | awk '$2 == "manta-workers" { print $1 }')
    [ -n "$step" ] && scancel --signal=TERM "$step" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$workers_pid" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$workers_pid" 2>/dev/null
    wait "$workers_pid" 2>/dev/null
  fi
  "$manta" stop >/dev/null
  rm -rf "$MANTA_RUNTIME_DIR"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

"$manta" start --head --dashboard-port="${MANTA_DASHBOARD_PORT:-off}" >&2 \
  || die "the head did not start (log: $MANTA_RUNTIME_DIR/head.log)"
head=$(cat "$MANTA_RUNTIME_DIR/head.address") || die "the head wrote no address"
nodes=${SLURM_JOB_NUM_NODES:-1}
echo "manta_slurm: head at $head; starting $nodes worker(s)" >&2

srun --nodes="$nodes" --ntasks="$nodes" --ntasks-per-node=1 --overlap --kill-on-bad-exit=0 \
  --job-name=manta-workers "$self" --worker-step "$head" "$cpus" "$program" &
workers_pid=$!

deadline=$((SECONDS + timeout))
until "$manta" status --address="$head" 2>/dev/null | grep -q "^head .*: $nodes worker node(s)"; do
  kill -0 "$workers_pid" 2>/dev/null || die "the worker step ended before every worker joined"
  [ $SECONDS -lt $deadline ] || die "not every one of the $nodes worker(s) joined $head within \
${timeout} s: $("$manta" status --address="$head" 2>&1 | head -1)"
  sleep 0.2
done
echo "manta_slurm: $nodes worker(s) joined; running the driver" >&2

MANTA_ADDRESS=$head MANTA_NUM_CPUS=${MANTA_DRIVER_CPUS:-0} "$program" "$@"
rc=$?
exit $rc
