#!/usr/bin/env bash
# The systemd units of deploy/systemd/ (docs/deploy.md): `systemd-analyze
# verify` accepts them without a word (a copy with a broken line must be
# flagged, so the check itself works), and their ExecStart lines, run with
# the sample manta.env as systemd would expand them, start a head and a
# worker that joins it. Skips (77) where systemd-analyze is missing. Needs
# MANTA_EXE, HELLO_CLUSTER, MANTA_SOURCE_ROOT.
set -uo pipefail

fail() {
  echo "FAIL: $*"
  exit 1
}
: "${MANTA_EXE:?}" "${HELLO_CLUSTER:?}" "${MANTA_SOURCE_ROOT:?}"
command -v systemd-analyze >/dev/null \
  || { echo "SKIP: systemd-analyze is not installed (package systemd; tools/setup.sh)"; exit 77; }

tmp=$(mktemp -d /tmp/manta-systemd-test.XXXXXX)
export MANTA_RUNTIME_DIR=$tmp/run
cleanup() {
  "$MANTA_EXE" stop >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
units=$MANTA_SOURCE_ROOT/deploy/systemd

# The units name the installed command; here it is this build's.
for u in manta-head manta-worker; do
  sed "s#/usr/local/bin/manta#$MANTA_EXE#g" "$units/$u.service" > "$tmp/$u.service"
done
out=$(systemd-analyze verify "$tmp/manta-head.service" "$tmp/manta-worker.service" 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze verify (exit $rc): $out"
echo "systemd-analyze verify: both units clean"

# The control: a mistyped line is reported (systemd only warns, exit 0).
sed 's/^Type=forking/Type=forkin/' "$tmp/manta-head.service" > "$tmp/broken.service"
out=$(systemd-analyze verify "$tmp/broken.service" 2>&1)
grep -q "forkin" <<<"$out" || fail "systemd-analyze did not flag a broken unit: $out"

# The ExecStart lines with the sample environment file: systemd expands
# ${VAR} to one word and $VAR to words split at white space, as bash does
# with the line unquoted here. The head's ports become any free ones.
exec_line() {
  sed -n 's/^ExecStart=//p' "$tmp/$1.service"
}
set -a
# shellcheck disable=SC1091
. "$units/manta.env"
MANTA_TOKEN=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
MANTA_NODE_IP=127.0.0.1
MANTA_PROGRAM=$HELLO_CLUSTER
MANTA_WORKER_FLAGS="--num-cpus=1 --resources=disk:1"
set +a
head_cmd=$(exec_line manta-head | sed -e 's/--port=[0-9]*/--port=0/' -e 's/--dashboard-port=[0-9]*/--dashboard-port=0/')
eval "$head_cmd" || fail "the head unit's command failed: $head_cmd"
MANTA_HEAD=$(cat "$MANTA_RUNTIME_DIR/head.address") || fail "the head wrote no address"
worker_cmd=$(exec_line manta-worker)
eval "$worker_cmd" || fail "the worker unit's command failed: $worker_cmd"
deadline=$((SECONDS + 15))
until status=$("$MANTA_EXE" status --address="$MANTA_HEAD" 2>&1) \
      && grep -q "1 worker node(s)" <<<"$status" && grep -q "disk 1" <<<"$status"; do
  [ $SECONDS -lt $deadline ] || fail "the worker did not join within 15 s: $status"
  sleep 0.1
done
echo "$status"
echo "PASS: the units verify, and their commands start a head and a worker that joins it"
