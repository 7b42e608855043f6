#!/usr/bin/env bash
# Provisions the local stack that the tests, .ci/run and `npm run dev` share, and writes the tool
# paths to .sv0/stack.env for them. By profile, so that each command waits only for what it needs:
#   dev   what `npm run dev` runs: the Temporal CLI (dev server with SQLite and the Web UI), moto
#         (project-local .venv/), Podman with runc and its two containers.conf settings (or the
#         user's own Docker engine), and the test connector image (test/fixtures/connector-image/);
#   test  dev, and what the test run starts: the Java time-skipping test server
#         (io.temporal:temporal-test-server) behind a wrapper, cfn-lint, sops, age, chromium, jemalloc
#         (the allocator the worker image preloads, for the benchmarks), the
#         production server (temporal-server, temporal-sql-tool, the Web UI server, PostgreSQL from
#         Debian), compose-check (tools/compose-check) and Node.js 24 (the worker image's base);
#   all   (the default) test and the worker image from the Dockerfile: everything CI needs.
# The Temporal CLI, server, SQL tool and UI server are built from one Go module graph
# (tools/temporal/go.mod) with Go's default module and build caches, shared by every Go tool here;
# sops keeps its own graph (v3.13.2 needs gRPC 1.81 and newer golang.org/x modules than the
# Temporal server 1.29 is built with). The Go builds run one after another in the background while
# the other steps, mostly downloads and installs, run beside them; each step's time is printed at
# the end.
# Idempotent: what is already there is used as it is (a warm run takes a few seconds). Built or
# downloaded tools are cached by version under ${SV0_CACHE_DIR:-$HOME/.cache/sv0}/<tool>/<version>/;
# concurrent runs (several checkouts on one machine) wait for each other's builds instead of
# clobbering them. Each step says what it does on stderr; a tool that cannot be had stops the run
# with one line saying what is missing and how to get it.
#
# Usage:
#   bash scripts/stack.sh provision [dev|test|all]  install what is missing, write .sv0/stack.env
#   bash scripts/stack.sh worker-image       build the worker image for the current sources (if not
#                                            built yet); prints its tag
#   bash scripts/stack.sh node               make sure a Node.js 24 exists (the machine's, else one
#                                            from PyPI); prints the directory to put first on PATH
#   bash scripts/stack.sh compose-check      check docker-compose.temporal.yml with compose-check
#   bash scripts/stack.sh podman-service     start Podman's Docker API on .sv0/podman.sock in the
#                                            background (if not answering yet); prints DOCKER_HOST=...
#   bash scripts/stack.sh podman-stop        stop the API that podman-service started
set -euo pipefail

TEST_SERVER_VERSION=1.38.0
SOPS_VERSION=3.13.2
# Every Go build here: without VCS stamps (the tools' modules are not repositories of their own) and
# without the DWARF tables and symbol table, which only a debugger reads: they are most of what
# the linker writes for binaries of 60 to 250 MB. Panics still print file names and line numbers.
GO_BUILD_FLAGS=(-buildvcs=false "-ldflags=-s -w")
# Pinned so that the copy goal does not float with the super-POM's default (2.8).
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${SV0_CACHE_DIR:-$HOME/.cache/sv0}
STATE_DIR=$REPO_DIR/.sv0
ENV_FILE=$STATE_DIR/stack.env
LOG_DIR=$CACHE_DIR/logs
VENV_DIR=$REPO_DIR/.venv
VENV_REQUIREMENTS=$REPO_DIR/scripts/stack-requirements.txt
CONNECTOR_FIXTURE=$REPO_DIR/test/fixtures/connector-image
PODMAN_SOCKET=$STATE_DIR/podman.sock
CONTAINERS_CONF=/etc/containers/containers.conf
# shellcheck source=scripts/stack-deploy.sh
source "$REPO_DIR/scripts/stack-deploy.sh"

say() { printf '%s\n' "$*" >&2; }
# One line naming what is missing and how to get it, then stop.
die() {
  printf 'stack: %s\n' "$*" >&2
  exit 1
}

ENV_LINES=()
add_env() { ENV_LINES+=("$1=$2"); }

now() { date +%s.%N; }
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

# Runs a long command with its output in a log file and says how long it took; on failure, dies
# quoting the log's last line.
run_logged() {
  local what=$1 log=$2 start
  shift 2
  mkdir -p "$(dirname "$log")"
  start=$(now)
  if ! "$@" >"$log" 2>&1; then
    die "$what failed ($(grep -v '^\s*$' "$log" | tail -n 1)); full log: $log"
  fi
  say "$what: done in $(elapsed "$start") s"
}

# Runs "$@" holding an exclusive lock named $1 under the cache, so that two provisioning runs (two
# checkouts, or CI and a developer) never build the same tool at once; the second waits, then finds
# the tool built. The command must check again whether its work is already done.
with_lock() {
  local name=$1 fd
  shift
  mkdir -p "$CACHE_DIR/locks"
  exec {fd}>"$CACHE_DIR/locks/$name.lock"
  if ! flock -n "$fd"; then
    say "$name: another provisioning run is building it; waiting..."
    flock "$fd"
  fi
  "$@"
  exec {fd}>&-
}

# Runs a command as root: directly, or through sudo when it needs no password.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 1
  fi
}

APT_UPDATED=0
apt_update() {
  if [[ $APT_UPDATED -eq 0 ]]; then
    say "apt: updating the package lists..."
    run_logged "apt-get update" "$LOG_DIR/apt-update.log" as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    APT_UPDATED=1
  fi
}

# Installs Debian packages; $1 names the step (for messages), $2 is "recommends" or "no-recommends".
# One provisioning run at a time uses apt (two checkouts provisioning at once would otherwise fail
# on dpkg's lock), and apt itself waits for a lock held by anything else, such as unattended
# upgrades, instead of failing at once.
apt_install() {
  with_lock apt apt_install_now "$@"
}

apt_install_now() {
  local step=$1 recommends=$2
  shift 2
  command -v apt-get >/dev/null || die "$step: missing $*, and this machine has no apt-get; install $* with your package manager"
  if [[ $EUID -ne 0 ]] && ! (command -v sudo >/dev/null && sudo -n true 2>/dev/null); then
    die "$step: missing $*; install with: sudo apt-get install $*"
  fi
  local opts=(-y -qq -o DPkg::Lock::Timeout=600)
  [[ $recommends == no-recommends ]] && opts+=(--no-install-recommends)
  # Lists that were never fetched (or lack a package) need an update before the install.
  local pkg
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt_update
  else
    for pkg in "$@"; do
      if apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: (none)' ||
        [[ -z $(apt-cache policy "$pkg" 2>/dev/null) ]]; then
        apt_update
        break
      fi
    done
  fi
  say "$step: installing $* with apt-get..."
  local log=$LOG_DIR/apt-install-$step.log start
  mkdir -p "$LOG_DIR"
  start=$(now)
  if as_root env DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "$@" >"$log" 2>&1; then
    say "$step: apt-get install $*: done in $(elapsed "$start") s"
  else
    # Stale lists give 404s for superseded versions: refresh once and retry.
    apt_update
    run_logged "$step: apt-get install $*" "$log" \
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "$@"
  fi
}

# Copies a file into place atomically, so an interrupted copy never looks like a cached tool.
install_file() {
  local src=$1 dest=$2
  mkdir -p "$(dirname "$dest")"
  cp "$src" "$dest.tmp.$$"
  chmod +x "$dest.tmp.$$"
  mv -f "$dest.tmp.$$" "$dest"
}

# Quotes a string for /bin/sh.
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Asks a Docker Engine API for /_ping; $1 is a DOCKER_HOST value.
docker_ping() {
  local host=$1
  case $host in
    unix://*) curl -fsS --max-time 3 --unix-socket "${host#unix://}" http://localhost/_ping >/dev/null 2>&1 ;;
    tcp://* | http://*)
      if [[ -n ${DOCKER_TLS_VERIFY:-} ]]; then
        command -v docker >/dev/null && timeout 10 docker -H "$host" version >/dev/null 2>&1
      else
        curl -fsS --max-time 3 "http://${host#*://}/_ping" >/dev/null 2>&1
      fi
      ;;
    *) command -v docker >/dev/null && timeout 10 docker -H "$host" version >/dev/null 2>&1 ;;
  esac
}

# --- Temporal CLI -------------------------------------------------------------------------------

provision_temporal_cli() {
  local path version
  version=$(temporal_tools_version github.com/temporalio/cli)
  if [[ -n ${TEMPORAL_CLI_PATH:-} ]]; then
    [[ -x $TEMPORAL_CLI_PATH ]] || die "temporal: TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not an executable; point it at a temporal binary or unset it"
    path=$TEMPORAL_CLI_PATH
    say "temporal: using TEMPORAL_CLI_PATH $path"
  elif path=$(command -v temporal); then
    say "temporal: using $path from PATH"
  else
    path=$CACHE_DIR/temporal/$version/temporal
    if [[ -x $path ]]; then
      say "temporal: using cached $path"
    else
      with_lock "temporal-$version" provision_temporal_cli_locked "$version" "$path"
    fi
  fi
  add_env TEMPORAL_CLI_PATH "$path"
}

provision_temporal_cli_locked() {
  local version=$1 path=$2
  [[ -x $path ]] && return
  # Where the first manual build was cached, before this script existed.
  local earlier=$HOME/.cache/sv0-tools/temporal-$version/temporal
  if [[ -x $earlier ]]; then
    say "temporal: copying the earlier build $earlier to $path"
    install_file "$earlier" "$path"
    return
  fi
  say "temporal: building v$version from the Go module proxy (about 6 min on 2 cores)..."
  build_temporal_tools temporal "$version" github.com/temporalio/cli/cmd/temporal="$path"
}

# --- Time-skipping test server -----------------------------------------------------------------

# Writes the executable that @temporalio/testing starts as `<path> <port> [extraArgs...]`
# (createTimeSkipping with executable type 'existing-path'), and java.args, the class path.
# The arguments go through unchanged: like the SDK's own test-server binary (the same TestServer
# main), the server must start with time skipping locked, because the TypeScript client unlocks it
# only while it waits (env.sleep, workflow results). Adding --enable-time-skipping starts it
# unlocked: env.sleep('30 days') then fails with "Unbalanced lock and unlock calls" and a 30-day
# workflow timer times the workflow out (both seen with SDK 1.24.0 and test server 1.38.0).
write_test_server_wrapper() {
  local dir=$1 java=$2 wrapper=$1/temporal-test-server
  local classpath
  classpath=$(find "$dir/lib" -name '*.jar' | LC_ALL=C sort | paste -sd:)
  # A java @argfile: double-quoted, with backslashes and quotes escaped.
  classpath=${classpath//\\/\\\\}
  printf -- '-cp "%s"\n' "${classpath//\"/\\\"}" >"$dir/java.args.tmp.$$"
  if cmp -s "$dir/java.args.tmp.$$" "$dir/java.args"; then
    rm -f "$dir/java.args.tmp.$$"
  else
    mv -f "$dir/java.args.tmp.$$" "$dir/java.args"
    rm -f "$dir/classes.jsa"
  fi
  local content
  content=$(
    cat <<EOF
#!/bin/sh
# The Temporal time-skipping test server (io.temporal:temporal-test-server $TEST_SERVER_VERSION, Maven
# Central) for TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type:
# 'existing-path', path } } }), which runs it as \`<this file> <port> [extraArgs...]\`. Arguments go
# through unchanged: the TypeScript SDK expects the server to start with time skipping locked.
# Written by scripts/stack.sh provision; rewritten when it differs.
dir=$(sh_quote "$dir")
# A class-data-sharing archive made at provision time cuts the JVM start from ~1 s to ~0.3 s; the
# SDK gives the server 5 s to answer, which a loaded 2-core machine must still meet.
if [ -f "\$dir/classes.jsa" ]; then
  exec $(sh_quote "$java") -Xshare:auto "-XX:SharedArchiveFile=\$dir/classes.jsa" -Xlog:cds=off \\
    -Xlog:cds+dynamic=off "@\$dir/java.args" io.temporal.testserver.TestServer "\$@"
fi
exec $(sh_quote "$java") "@\$dir/java.args" io.temporal.testserver.TestServer "\$@"
EOF
  )
  if [[ ! -x $wrapper ]] || [[ $(cat "$wrapper") != "$content" ]]; then
    printf '%s\n' "$content" >"$wrapper.tmp.$$"
    chmod +x "$wrapper.tmp.$$"
    mv -f "$wrapper.tmp.$$" "$wrapper"
    rm -f "$dir/classes.jsa"
  fi
}

# Starts the server once with -XX:ArchiveClassesAtExit, waits for its port, and stops it: the JVM
# writes the archive of the classes it loaded while starting.
make_test_server_archive() {
  local dir=$1 java=$2 port pid i
  port=$(free_port)
  "$java" "-XX:ArchiveClassesAtExit=$dir/classes.jsa.tmp" "@$dir/java.args" \
    io.temporal.testserver.TestServer "$port" >"$LOG_DIR/test-server-archive.log" 2>&1 &
  pid=$!
  for ((i = 0; i < 300; i++)); do
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [[ -s $dir/classes.jsa.tmp ]]; then
    mv -f "$dir/classes.jsa.tmp" "$dir/classes.jsa"
  else
    # Not fatal: the wrapper runs without the archive, only slower to start.
    rm -f "$dir/classes.jsa.tmp"
    say "temporal-test-server: could not make the class-data archive (see $LOG_DIR/test-server-archive.log); it will start slower"
  fi
}

provision_test_server() {
  local dir=$CACHE_DIR/temporal-test-server/$TEST_SERVER_VERSION java
  java=$(command -v java) ||
    die "temporal-test-server: java is missing; install a Java runtime >= 11 (Debian: apt-get install openjdk-17-jre-headless)"
  if [[ -f $dir/lib/.complete ]]; then
    say "temporal-test-server: using cached $dir"
  else
    command -v mvn >/dev/null ||
      die "temporal-test-server: Maven is missing to fetch io.temporal:temporal-test-server $TEST_SERVER_VERSION; install it (Debian: apt-get install maven)"
    say "temporal-test-server: fetching io.temporal:temporal-test-server $TEST_SERVER_VERSION and its dependencies from Maven Central..."
    mkdir -p "$dir"
    cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <!-- Written by scripts/stack.sh: only used to copy the test server's runtime jars to lib/. -->
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.sv0</groupId>
  <artifactId>temporal-test-server-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>$TEST_SERVER_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
    rm -rf "${dir:?}/lib" "${dir:?}/lib.tmp"
    run_logged "temporal-test-server: mvn copy-dependencies" "$LOG_DIR/temporal-test-server-$TEST_SERVER_VERSION.log" \
      mvn -B -q -f "$dir/pom.xml" "$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" \
      -DoutputDirectory="$dir/lib.tmp" -DincludeScope=runtime
    touch "$dir/lib.tmp/.complete"
    mv "$dir/lib.tmp" "$dir/lib"
  fi
  write_test_server_wrapper "$dir" "$java"
  if [[ ! -f $dir/classes.jsa ]]; then
    say "temporal-test-server: making a class-data archive for a faster start..."
    make_test_server_archive "$dir" "$java"
  fi
  add_env TEMPORAL_TEST_SERVER_PATH "$dir/temporal-test-server"
}

# --- moto and cfn-lint (.venv) --------------------------------------------------------------------

# The venv is built once per requirements file and Python version in the cache, and .venv in the
# checkout links to it: a fresh clone (every CI run) then skips a pip install of about a minute.
# A .venv that is a real directory with the same requirements is used as it is.
provision_venv() {
  local stamp=$VENV_DIR/.sv0-requirements pins
  pins=$(grep -E '^(moto\[server\]|cfn-lint)==' "$VENV_REQUIREMENTS" | paste -sd' ')
  if [[ -x $VENV_DIR/bin/python && -f $stamp ]] && cmp -s "$stamp" "$VENV_REQUIREMENTS"; then
    say "moto: using $VENV_DIR ($pins)"
  else
    command -v python3 >/dev/null ||
      die "moto: python3 is missing; install Python >= 3.9 with venv (Debian: apt-get install python3 python3-venv)"
    local key cached
    key=$({
      cat "$VENV_REQUIREMENTS"
      python3 -c 'import sys; print(sys.version)'
    } | sha256sum | cut -c1-12)
    cached=$CACHE_DIR/venv/$key
    if venv_is_complete "$cached"; then
      say "moto: linking $VENV_DIR to cached $cached ($pins)"
    else
      with_lock "venv-$key" install_venv "$cached" "$pins"
    fi
    # An outdated real directory goes; a link is replaced.
    [[ -L $VENV_DIR ]] || rm -rf "$VENV_DIR"
    ln -sfn "$cached" "$VENV_DIR"
  fi
  add_env MOTO_SERVER_PATH "$VENV_DIR/bin/moto_server"
  add_env CFN_LINT_PATH "$VENV_DIR/bin/cfn-lint"
}

venv_is_complete() {
  [[ -x $1/bin/python && -f $1/.sv0-requirements ]] && cmp -s "$1/.sv0-requirements" "$VENV_REQUIREMENTS"
}

install_venv() {
  local cached=$1 pins=$2
  venv_is_complete "$cached" && return
  say "moto: installing $pins into $cached (pinned in scripts/stack-requirements.txt)..."
  python3 -c 'import ensurepip, venv' 2>/dev/null ||
    die "moto: python3 has no venv module; install it (Debian: apt-get install python3-venv)"
  rm -rf "$cached"
  mkdir -p "$(dirname "$cached")"
  run_logged "moto: python3 -m venv" "$LOG_DIR/venv.log" python3 -m venv "$cached"
  run_logged "moto: pip install" "$LOG_DIR/venv-pip.log" \
    "$cached/bin/python" -m pip install -q --disable-pip-version-check -r "$VENV_REQUIREMENTS"
  cp "$VENV_REQUIREMENTS" "$cached/.sv0-requirements"
}

# --- Container engine and the test connector image ---------------------------------------------

# Sets ENGINE (docker|podman) and DOCKER_HOST_IN_USE when a Docker engine already answers.
choose_engine() {
  ENGINE=podman
  DOCKER_HOST_IN_USE=
  if [[ -n ${DOCKER_HOST:-} && $DOCKER_HOST != "unix://$PODMAN_SOCKET" ]]; then
    if docker_ping "$DOCKER_HOST"; then
      ENGINE=docker
      DOCKER_HOST_IN_USE=$DOCKER_HOST
    else
      say "docker: DOCKER_HOST=$DOCKER_HOST does not answer /_ping; using Podman instead"
    fi
  elif [[ -S /var/run/docker.sock ]] && docker_ping unix:///var/run/docker.sock; then
    ENGINE=docker
    DOCKER_HOST_IN_USE=unix:///var/run/docker.sock
  fi
}

# Sets key = value inside [section] of a TOML file, keeping everything else as it is.
toml_set() {
  local file=$1 section=$2 key=$3 value=$4
  python3 - "$file" "$section" "$key" "$value" <<'EOF'
import os, re, sys
path, section, key, value = sys.argv[1:]
lines = open(path).read().splitlines() if os.path.exists(path) else []
want = f"{key} = {value}"
header = re.compile(r"^\s*\[\s*" + re.escape(section) + r"\s*\]\s*(#.*)?$")
start = next((i for i, l in enumerate(lines) if header.match(l)), None)
if start is None:
    lines += ([""] if lines and lines[-1].strip() else []) + [f"[{section}]", want]
else:
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\s*\[", lines[i])), len(lines))
    at = next((i for i in range(start + 1, end) if re.match(r"^\s*" + re.escape(key) + r"\s*=", lines[i])), None)
    if at is None:
        lines.insert(start + 1, want)
    else:
        # A value spread over several lines (an array) is replaced whole.
        last, depth = at, lines[at].count("[") - lines[at].count("]")
        while depth > 0 and last + 1 < end:
            last += 1
            depth += lines[last].count("[") - lines[last].count("]")
        lines[at:last + 1] = [want]
tmp = f"{path}.tmp.{os.getpid()}"
with open(tmp, "w") as f:
    f.write("\n".join(lines) + "\n")
os.replace(tmp, path)
EOF
}

# The two settings Debian 12 hosts like CI's need: crun fails on hybrid cgroups, and
# the default ulimits exceed the hard limits.
configure_podman() {
  local runtime='"runc"'
  local ulimits='["nofile=10000:10000", "nproc=4096:4096"]'
  if [[ -f $CONTAINERS_CONF ]] &&
    grep -qxF "runtime = $runtime" "$CONTAINERS_CONF" &&
    grep -qxF "default_ulimits = $ulimits" "$CONTAINERS_CONF"; then
    say "podman: $CONTAINERS_CONF already sets runtime runc and default_ulimits"
    return
  fi
  say "podman: setting runtime runc and default_ulimits in $CONTAINERS_CONF"
  if [[ $EUID -ne 0 ]]; then
    die "podman: $CONTAINERS_CONF needs [engine] runtime = $runtime and [containers] default_ulimits = $ulimits; run this as root once"
  fi
  mkdir -p "$(dirname "$CONTAINERS_CONF")"
  toml_set "$CONTAINERS_CONF" engine runtime "$runtime"
  toml_set "$CONTAINERS_CONF" containers default_ulimits "$ulimits"
}

provision_engine() {
  choose_engine
  if [[ $ENGINE == docker ]]; then
    say "docker: using the Docker engine answering at $DOCKER_HOST_IN_USE (Podman not needed)"
    add_env SV0_DOCKER_HOST "$DOCKER_HOST_IN_USE"
    return
  fi
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || [[ -x /usr/sbin/runc ]] || missing+=(runc)
  if [[ ${#missing[@]} -gt 0 ]]; then
    apt_install podman recommends "${missing[@]}"
  fi
  local podman
  podman=$(command -v podman) || die "podman: still missing after apt-get install podman"
  say "podman: using $podman ($("$podman" --version | awk '{print $NF}'))"
  configure_podman
  add_env PODMAN_PATH "$podman"
}

# Sets ENGINE_CLI to the command that builds and inspects images on the engine the stack uses.
engine_cli() {
  [[ -n ${ENGINE:-} ]] || choose_engine
  if [[ $ENGINE == docker ]]; then
    command -v docker >/dev/null || die "the docker CLI is missing to build images on $DOCKER_HOST_IN_USE; install docker-ce-cli or unset DOCKER_HOST to use Podman"
    ENGINE_CLI=(docker -H "$DOCKER_HOST_IN_USE")
  else
    command -v podman >/dev/null || die "podman is missing; run: bash scripts/stack.sh provision"
    ENGINE_CLI=(podman)
  fi
}

# The image is made of Debian's static busybox (package busybox-static; busybox proper is dynamic).
ensure_busybox_static() {
  if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
    apt_install connector-image recommends busybox-static
  fi
  [[ -x /bin/busybox ]] || die "connector-image: /bin/busybox is missing after apt-get install busybox-static"
}

provision_connector_image() {
  local hash tag checkout
  hash=$(cd "$CONNECTOR_FIXTURE" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
  # Checkouts (worktrees, clones) share the engine's images, each with its own fixture version:
  # tags carry the checkout, so one removes only its own stale builds, never a build another runs.
  checkout=$(printf '%s' "$REPO_DIR" | sha256sum | cut -c1-8)
  tag=localhost/sv0-test-connector:$checkout-$hash
  engine_cli
  local cli=("${ENGINE_CLI[@]}")
  if "${cli[@]}" image inspect "$tag" >/dev/null 2>&1; then
    say "connector-image: using $tag"
  else
    local context
    ensure_busybox_static
    say "connector-image: building $tag from test/fixtures/connector-image with ${cli[0]}..."
    context=$(mktemp -d)
    cp "$CONNECTOR_FIXTURE"/* "$context/"
    cp /bin/busybox "$context/busybox"
    run_logged "connector-image: ${cli[0]} build" "$LOG_DIR/connector-image.log" \
      "${cli[@]}" build -t "$tag" -f "$context/Containerfile" "$context"
    rm -rf "$context"
    # This checkout's builds of earlier fixture versions are no longer referenced (one a container
    # uses stays).
    local old
    for old in $("${cli[@]}" images --format '{{.Repository}}:{{.Tag}}' localhost/sv0-test-connector 2>/dev/null); do
      [[ $old == "$tag" || $old != "localhost/sv0-test-connector:$checkout-"* ]] || "${cli[@]}" rmi "$old" >/dev/null 2>&1 || true
    done
  fi
  add_env SV0_TEST_CONNECTOR_IMAGE "$tag"
}

# --- sops, age, chromium -----------------------------------------------------------------------

provision_sops() {
  local path=$CACHE_DIR/sops/$SOPS_VERSION/sops
  if [[ -n ${SOPS_PATH:-} ]]; then
    [[ -x $SOPS_PATH ]] || die "sops: SOPS_PATH=$SOPS_PATH is not an executable; point it at sops or unset it"
    path=$SOPS_PATH
    say "sops: using SOPS_PATH $path"
  elif [[ -x $path ]]; then
    say "sops: using cached $path"
  elif ! command -v go >/dev/null && command -v sops >/dev/null; then
    path=$(command -v sops)
    say "sops: using $path from PATH (no Go to build v$SOPS_VERSION)"
  else
    command -v go >/dev/null ||
      die "sops: no sops and no Go to build it; install Go >= 1.25.8 (go.dev/dl), or put sops on PATH, or set SOPS_PATH"
    say "sops: building v$SOPS_VERSION from the Go module proxy (a few minutes on 2 cores)..."
    local gobin
    gobin=$(mktemp -d)
    run_logged "sops: go install" "$LOG_DIR/sops-$SOPS_VERSION.log" \
      env GOBIN="$gobin" go install "${GO_BUILD_FLAGS[@]}" "github.com/getsops/sops/v3/cmd/sops@v$SOPS_VERSION"
    install_file "$gobin/sops" "$path"
    rm -rf "$gobin"
  fi
  add_env SOPS_PATH "$path"
}

provision_age() {
  if ! command -v age >/dev/null || ! command -v age-keygen >/dev/null; then
    apt_install age recommends age
  fi
  local age keygen
  age=$(command -v age) || die "age: still missing after apt-get install age"
  keygen=$(command -v age-keygen) || die "age: age-keygen still missing after apt-get install age"
  say "age: using $age and $keygen"
  add_env AGE_PATH "$age"
  add_env AGE_KEYGEN_PATH "$keygen"
}

# jemalloc, the allocator the worker image preloads (LD_PRELOAD=libjemalloc.so.2, see the
# Dockerfile): the benchmarks run their worker processes with the image's settings.
jemalloc_path() { ldconfig -p 2>/dev/null | awk '/libjemalloc\.so\.2 / { path = $NF } END { print path }'; }
provision_jemalloc() {
  local lib
  lib=$(jemalloc_path)
  if [[ -z $lib ]]; then
    apt_install jemalloc no-recommends libjemalloc2
    lib=$(jemalloc_path)
    [[ -n $lib ]] || die "jemalloc: libjemalloc.so.2 is missing after apt-get install libjemalloc2"
  fi
  say "jemalloc: using $lib"
}

provision_chromium() {
  local path=${CHROMIUM_PATH:-/usr/bin/chromium}
  if [[ -n ${CHROMIUM_PATH:-} ]]; then
    [[ -x $path ]] || die "chromium: CHROMIUM_PATH=$path is not an executable; point it at chromium or unset it"
    say "chromium: using CHROMIUM_PATH $path"
  elif [[ -x $path ]]; then
    say "chromium: using $path"
  else
    # Without recommends: they add desktop daemons (upower, notification-daemon) a headless
    # browser check does not need; the fonts keep screenshots legible.
    apt_install chromium no-recommends chromium fonts-liberation
    [[ -x $path ]] || die "chromium: $path is missing after apt-get install chromium"
  fi
  add_env CHROMIUM_PATH "$path"
}

# --- stack.env ---------------------------------------------------------------------------------

# Writes the keys this run provisioned into .sv0/stack.env, keeping those a wider profile wrote
# before (a `provision dev` after a full one leaves the test tools' paths in place).
write_env_file() {
  mkdir -p "$STATE_DIR"
  local content line key
  local -A provisioned=()
  for line in "${ENV_LINES[@]}"; do provisioned[${line%%=*}]=1; done
  content=$(
    echo "# Written by scripts/stack.sh provision; read by test/harness and scripts/dev.ts."
    echo "# One KEY=VALUE a line; the value is the rest of the line, unquoted."
    if [[ -f $ENV_FILE ]]; then
      while IFS= read -r line; do
        [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)= ]] || continue
        key=${BASH_REMATCH[1]}
        [[ -n ${provisioned[$key]:-} ]] || printf '%s\n' "$line"
      done <"$ENV_FILE"
    fi
    printf '%s\n' "${ENV_LINES[@]}"
  )
  if [[ ! -f $ENV_FILE ]] || [[ $(cat "$ENV_FILE") != "$content" ]]; then
    printf '%s\n' "$content" >"$ENV_FILE.tmp.$$"
    mv -f "$ENV_FILE.tmp.$$" "$ENV_FILE"
  fi
}

# Runs one provisioning step ($2...) and records how long it took under $1, for the summary line.
STEP_TIMES=()
timed() {
  local name=$1 start
  shift
  start=$(now)
  "$@"
  STEP_TIMES+=("$name $(elapsed "$start") s")
}

# The Go builds: CPU-bound, one after another (they share Go's build cache, so each compiles only
# what the ones before it did not), in the order the profiles need them.
provision_go_tools() {
  local profile=$1
  timed temporal provision_temporal_cli
  if [[ $profile != dev ]]; then
    timed temporal-server provision_temporal_server
    timed temporal-ui-server provision_ui_server
    timed compose-check provision_compose_check
    timed sops provision_sops
  fi
}

# The processes started under $1, deepest first.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    descendants "$child"
    echo "$child"
  done
}

provision() {
  local profile=${1:-all} start
  case $profile in
    dev | test | all) ;;
    *) die "unknown profile '$profile'; use dev, test or all (the default)" ;;
  esac
  start=$(now)
  mkdir -p "$CACHE_DIR"
  # The Go builds run in the background beside the other steps, which mostly download and
  # install (pip, Maven, apt, the images): on a fresh machine the Temporal CLI's build is most of
  # `provision dev`, and the rest then costs no extra time. The background run reports its tool
  # paths and step times through a file; a step that fails stops the whole run.
  local go_results go_pid line
  go_results=$(mktemp)
  (
    provision_go_tools "$profile"
    times >"$go_results"
    {
      printf 'cpu %s\n' "$(cpu_seconds "$go_results")"
      printf 'env %s\n' "${ENV_LINES[@]}"
      printf 'time %s\n' "${STEP_TIMES[@]}"
    } >"$go_results.tmp"
    mv -f "$go_results.tmp" "$go_results"
  ) &
  go_pid=$!
  # shellcheck disable=SC2064 # the pid and file are fixed now
  trap "kill \$(descendants $go_pid) $go_pid 2>/dev/null; rm -f '$go_results'" EXIT
  timed moto provision_venv
  timed podman provision_engine
  timed connector-image provision_connector_image
  if [[ $profile != dev ]]; then
    timed temporal-test-server with_lock temporal-test-server provision_test_server
    timed age provision_age
    timed chromium provision_chromium
    timed jemalloc provision_jemalloc
    timed postgresql provision_postgres
    timed node ensure_node wheel
  fi
  [[ $profile != all ]] || timed worker-image provision_worker_image
  local foreground=("${STEP_TIMES[@]}") waited
  waited=$(now)
  if ! wait "$go_pid"; then
    trap - EXIT
    rm -f "$go_results"
    exit 1
  fi
  trap - EXIT
  STEP_TIMES=()
  local go_cpu=0 all_cpu
  while IFS= read -r line; do
    case $line in
      cpu\ ?*) go_cpu=${line#cpu } ;;
      env\ ?*) ENV_LINES+=("${line#env }") ;;
      time\ ?*) STEP_TIMES+=("${line#time }") ;;
    esac
  done <"$go_results"
  times >"$go_results"
  all_cpu=$(cpu_seconds "$go_results")
  rm -f "$go_results"
  write_env_file
  say "stack: provisioned ($profile) in $(elapsed "$start") s, $all_cpu CPU-s; tool paths in ${ENV_FILE#"$REPO_DIR"/}"
  say "stack: Go builds ($go_cpu CPU-s): $(join_steps "${STEP_TIMES[@]}"); beside them ($((all_cpu - go_cpu)) CPU-s): $(join_steps "${foreground[@]}"), then $(elapsed "$waited") s waiting for the Go builds"
}

# The user + system CPU seconds of the finished child processes, from the output of `times` in $1.
cpu_seconds() {
  awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); sub(",", ".", p[2]); n += p[1] * 60 + p[2] } } END { printf "%.0f\n", n }' "$1"
}

# "a 1.0 s", "b 2.0 s" as "a 1.0 s, b 2.0 s".
join_steps() {
  local out='' item
  for item in "$@"; do out+="${out:+, }$item"; done
  printf '%s\n' "${out:-none}"
}

# The worker image for the current sources, built when missing; its tag on stdout.
worker_image() {
  provision_worker_image
  write_env_file
  printf '%s\n' "$WORKER_IMAGE"
}

# Checks docker-compose.temporal.yml as `docker compose` reads it. POSTGRES_PASSWORD is required by
# the file; outside the VM a placeholder stands in for it (the check reads no secret).
compose_check() {
  provision_compose_check
  (cd "$REPO_DIR" && POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-placeholder} "$COMPOSE_CHECK" -f docker-compose.temporal.yml)
}

# --- Podman's Docker API for npm run dev and manual use ----------------------------------------

env_value() {
  [[ -f $ENV_FILE ]] || die "no $ENV_FILE yet; run: bash scripts/stack.sh provision"
  sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1
}

podman_service() {
  local docker_host podman pid i
  docker_host=$(env_value SV0_DOCKER_HOST)
  if [[ -n $docker_host ]]; then
    say "docker: using the Docker engine at $docker_host"
    echo "DOCKER_HOST=$docker_host"
    return
  fi
  podman=$(env_value PODMAN_PATH)
  [[ -n $podman ]] || die "no PODMAN_PATH in $ENV_FILE; run: bash scripts/stack.sh provision"
  if docker_ping "unix://$PODMAN_SOCKET"; then
    say "podman: API already answering on $PODMAN_SOCKET"
  else
    rm -f "$PODMAN_SOCKET"
    say "podman: starting the Docker API on $PODMAN_SOCKET (log: .sv0/podman.log)"
    setsid "$podman" system service --time=0 "unix://$PODMAN_SOCKET" \
      </dev/null >"$STATE_DIR/podman.log" 2>&1 &
    pid=$!
    echo "$pid" >"$STATE_DIR/podman.pid"
    for ((i = 0; i < 150; i++)); do
      docker_ping "unix://$PODMAN_SOCKET" && break
      kill -0 "$pid" 2>/dev/null || die "podman: system service exited at once; see $STATE_DIR/podman.log"
      sleep 0.1
    done
    docker_ping "unix://$PODMAN_SOCKET" || die "podman: the API did not answer on $PODMAN_SOCKET within 15 s; see $STATE_DIR/podman.log"
  fi
  echo "DOCKER_HOST=unix://$PODMAN_SOCKET"
}

podman_stop() {
  local pidfile=$STATE_DIR/podman.pid pid
  if [[ ! -f $pidfile ]]; then
    say "podman: no API started by podman-service"
    return
  fi
  pid=$(cat "$pidfile")
  # Only a process that is still our podman service: pids get reused.
  if [[ $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") == *"system service"*"$PODMAN_SOCKET"* ]]; then
    kill "$pid"
    say "podman: stopped the API (pid $pid)"
  else
    say "podman: the API started by podman-service (pid $pid) is not running"
  fi
  rm -f "$pidfile"
}

case ${1:-} in
  provision) provision "${2:-all}" ;;
  worker-image) worker_image ;;
  node)
    ensure_node
    printf '%s\n' "$NODE_BIN_DIR"
    ;;
  compose-check) compose_check ;;
  podman-service) podman_service ;;
  podman-stop) podman_stop ;;
  *)
    say "usage: bash scripts/stack.sh provision [dev|test|all] | worker-image | node | compose-check | podman-service | podman-stop"
    exit 2
    ;;
esac
