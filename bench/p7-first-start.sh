#!/usr/bin/env bash
# P7, time to a running stack: `npm ci && npm run dev` until "sv0 dev stack is up",
# `npm ci && bash scripts/stack.sh provision all` (what CI does before lint and the tests), or the
# whole of `bash .ci/run` (its Node 24, npm ci, provisioning, lint, typecheck and tests), in a
# clone of this checkout's HEAD under DIR, with every cache the provisioning fills pointed at empty
# directories under DIR: the sv0 tool cache (SV0_CACHE_DIR), Go's module and build caches, npm's,
# pip's and Maven's caches, the temp dir (tsx's cache) and Podman's image storage. The machine's
# own caches are neither read nor touched, so the first run in a DIR is a cold start on this
# machine and the next ones are warm. Apt packages are the exception: those the provisioning
# installs stay installed once installed (the apt log of the first provisioning gives their cost).
#
# Usage:
#   bash bench/p7-first-start.sh dev DIR    Node 24 (scripts/stack.sh node), npm ci, npm run dev to
#                                           "stack is up", then Ctrl-C
#   bash bench/p7-first-start.sh all DIR    Node 24, npm ci, bash scripts/stack.sh provision all
#   bash bench/p7-first-start.sh ci DIR     bash .ci/run, whole (its own steps' times in its log)
#   bash bench/p7-first-start.sh clean DIR  stop nothing, remove DIR (its images and Go's read-only
#                                           module cache included)
# Prints one summary line per run (also appended to DIR/results.txt): each step's seconds,
# provisioning's own per-step split, and the 1-minute load average at the start, mean and max.
set -euo pipefail

SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
what=${1:-}
dir=${2:-}
case $what in
  dev | all | ci | clean) ;;
  *)
    echo "usage: bash bench/p7-first-start.sh dev|all|ci|clean DIR" >&2
    exit 2
    ;;
esac
[[ -n $dir ]] || {
  echo "p7: name a directory (it holds the clone and the caches)" >&2
  exit 2
}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cache=$dir/cache
storage_conf=$dir/containers/storage.conf

use_own_caches() {
  export SV0_CACHE_DIR=$cache/sv0
  export GOPATH=$cache/go GOMODCACHE=$cache/go/pkg/mod GOCACHE=$cache/go-build
  export npm_config_cache=$cache/npm PIP_CACHE_DIR=$cache/pip XDG_CACHE_HOME=$cache/xdg
  export MAVEN_OPTS="${MAVEN_OPTS:-} -Dmaven.repo.local=$cache/m2"
  export TMPDIR=$dir/tmp
  export CONTAINERS_STORAGE_CONF=$storage_conf
  mkdir -p "$TMPDIR" "$dir/containers"
  cat >"$storage_conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$dir/containers/storage"
runroot = "$dir/containers/run"
EOF
  # A Node 24 another run put first on PATH is not this run's.
  PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/\.cache/sv0/node/' | paste -sd:)
  export PATH
}

if [[ $what == clean ]]; then
  use_own_caches
  if [[ -d $dir/containers/storage ]] && command -v podman >/dev/null; then
    podman rm -a -f >/dev/null 2>&1 || true
    podman rmi -a -f >/dev/null 2>&1 || true
  fi
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount 2>/dev/null || true
  [[ -d $cache/go ]] && chmod -R u+w "$cache/go"
  rm -rf "$dir"
  echo "p7: removed $dir" >&2
  exit 0
fi

temperature=warm
[[ -d $cache ]] || temperature=cold
use_own_caches
mkdir -p "$cache" "$dir/logs"
repo=$dir/repo
if [[ ! -d $repo/.git ]]; then
  # From the repository behind this checkout (a worktree's too), at this checkout's commit or at
  # P7_REF (an earlier commit, for a figure before a change).
  git clone -q --no-hardlinks --no-checkout "$(git -C "$SOURCE" rev-parse --path-format=absolute --git-common-dir)" "$repo"
  git -C "$repo" checkout -q --detach "$(git -C "$SOURCE" rev-parse "${P7_REF:-HEAD}")"
fi
cd "$repo"
stamp=$(date -u +%Y%m%dT%H%M%S)
logs=$dir/logs/$what-$stamp
mkdir -p "$logs"

# The 1-minute load average every 5 s while the run lasts.
(while :; do
  cut -d' ' -f1 /proc/loadavg
  sleep 5
done) >"$logs/load.txt" &
sampler=$!
dev_pid=
finish() {
  kill "$sampler" 2>/dev/null || true
  if [[ -n $dev_pid ]] && kill -0 "$dev_pid" 2>/dev/null; then
    kill -INT -- "-$dev_pid" 2>/dev/null || true
  fi
}
trap finish EXIT

# Times in microseconds.
t() { local now=${EPOCHREALTIME/[.,]/}; printf '%s\n' "$((10#$now))"; }
secs() { printf '%d\n' "$((($2 - $1 + 500000) / 1000000))"; }
# The CPU seconds (user + system) GNU time recorded in $logs/$1.cpu.
cpu() { awk '/^[0-9.]+ [0-9.]+$/ { printf "%.0f\n", $1 + $2 }' "$logs/$1.cpu" 2>/dev/null; }
# Each line with the seconds since $1 in front.
stamped() {
  local start=$1 line d
  while IFS= read -r line; do
    d=$((($(t) - start) / 100000))
    printf '%5d.%d %s\n' "$((d / 10))" "$((d % 10))" "$line"
  done
}

start=$(t)
if [[ $what == ci ]]; then
  # .ci/run installs Node 24 and runs npm ci itself; its own log gives each step's time.
  /usr/bin/time -f '%U %S' -o "$logs/ci.cpu" bash .ci/run >"$logs/ci.log" 2>&1 && passed=passed || passed=FAILED
  end=$(t)
  kill "$sampler" 2>/dev/null || true
  load=$(awk 'NR == 1 { first = $1 } { sum += $1; if ($1 > max) max = $1 } END { printf "start %.1f, mean %.1f, max %.1f", first, sum / NR, max }' "$logs/load.txt")
  steps=$(sed -n 's/^==> \(.*\): \([0-9]*\) s$/\1 \2 s/p' "$logs/ci.log" | paste -sd, | sed 's/,/, /g')
  # The first provisioning's split (the tests provision again, warm).
  split=$(sed -n 's/^stack: Go builds //p' "$logs/ci.log" | head -n 1)
  summary="$(date -u +%FT%TZ) ci $temperature ($(git rev-parse --short HEAD)): .ci/run $passed, total $(secs "$start" "$end") s ($(cpu ci) CPU-s): $steps; Go builds: ${split:-?}; load $load; logs $logs"
  echo "$summary" | tee -a "$dir/results.txt"
  [[ $passed == passed ]]
  exit
fi
node_dir=$(bash scripts/stack.sh node 2>"$logs/node.log")
export PATH="$node_dir:$PATH"
after_node=$(t)
/usr/bin/time -f '%U %S' -o "$logs/npm-ci.cpu" npm ci --no-audit --no-fund >"$logs/npm-ci.log" 2>&1 || {
  echo "p7: npm ci failed; see $logs/npm-ci.log" >&2
  exit 1
}
after_npm=$(t)

if [[ $what == dev ]]; then
  # npm run dev in a session of its own, so that Ctrl-C (SIGINT to its group) reaches all of it.
  # GNU time ignores SIGINT while it waits: it reports the CPU of all that npm run dev ran.
  setsid /usr/bin/time -f '%U %S' -o "$logs/dev.cpu" npm run dev > >(stamped "$after_npm" >"$logs/dev.log") 2>&1 </dev/null &
  dev_pid=$!
  up=
  for ((i = 0; i < 2400; i++)); do
    if grep -q 'sv0 dev stack is up' "$logs/dev.log" 2>/dev/null; then
      up=$(t)
      break
    fi
    kill -0 "$dev_pid" 2>/dev/null || break
    sleep 1
  done
  kill -INT -- "-$dev_pid" 2>/dev/null || true
  for ((i = 0; i < 90; i++)); do
    kill -0 "$dev_pid" 2>/dev/null || break
    sleep 1
  done
  kill -KILL -- "-$dev_pid" 2>/dev/null || true
  dev_pid=
  [[ -n $up ]] || {
    echo "p7: npm run dev did not come up; see $logs/dev.log" >&2
    exit 1
  }
  end=$up
  # When each phase of npm run dev began, in seconds after it started.
  at() { awk -v p="$1" 'index($0, p) { print int($1 + 0.5); exit }' "$logs/dev.log"; }
  main="npm run dev to stack is up $(secs "$after_npm" "$end") s ($(cpu dev) CPU-s; provisioned by $(at 'stack: provisioned') s, worker started at $(at 'starting the worker') s, sv0 up at $(at 'sv0 up...') s)"
  split=$(sed -n 's/^ *[0-9.]* stack: Go builds //p' "$logs/dev.log" | tail -n 1)
else
  /usr/bin/time -f '%U %S' -o "$logs/provision.cpu" bash scripts/stack.sh provision all 2> >(stamped "$after_npm" >"$logs/provision.log") || {
    echo "p7: provisioning failed; see $logs/provision.log" >&2
    exit 1
  }
  end=$(t)
  sleep 0.5
  main="provision all $(secs "$after_npm" "$end") s ($(cpu provision) CPU-s)"
  split=$(sed -n 's/^ *[0-9.]* stack: Go builds //p' "$logs/provision.log" | tail -n 1)
fi
kill "$sampler" 2>/dev/null || true
load=$(awk 'NR == 1 { first = $1 } { sum += $1; if ($1 > max) max = $1 } END { printf "start %.1f, mean %.1f, max %.1f", first, sum / NR, max }' "$logs/load.txt")
summary="$(date -u +%FT%TZ) $what $temperature ($(git rev-parse --short HEAD)): total $(secs "$start" "$end") s = node $(secs "$start" "$after_node") s + npm ci $(secs "$after_node" "$after_npm") s ($(cpu npm-ci) CPU-s) + $main; Go builds: ${split:-?}; load $load; logs $logs"
echo "$summary" | tee -a "$dir/results.txt"
