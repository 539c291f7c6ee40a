#!/usr/bin/env bash
# The test control plane: a real Kubernetes API server for the cluster tests.
#
#   scripts/testenv.sh up      build (once, cached) and start it; prints the KUBECONFIG to use
#   scripts/testenv.sh down    stop every process it started (by pid) and remove its data
#   scripts/testenv.sh env     print the export lines (KUBECONFIG, the restricted user's kubeconfig)
#   scripts/testenv.sh status  exit 0 when up (and print each component's pid, port and memory)
#
# Components (versions pinned in tests/testenv/versions.env, built from tests/testenv/go.mod):
# kine on SQLite (etcd API), kube-apiserver, kube-controller-manager, kube-scheduler, and kwok
# playing the kubelets of two fake nodes with the stages in tests/testenv/stages/. Everything
# listens on 127.0.0.1 only, on free ports.
#
# Binaries are cached outside the checkout, keyed by the versions and go.mod/go.sum, so every
# checkout on the machine shares one build: ${PLANTON_TESTENV_CACHE:-~/.cache/planton/testenv}.
# The running state (certificates, kubeconfigs, logs, data) lives in target/testenv/ of this
# checkout, so worktrees never collide; the admin kubeconfig is target/testenv/kubeconfig.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODULE="$ROOT/tests/testenv"
STATE="${PLANTON_TESTENV_STATE:-$ROOT/target/testenv}"
CACHE="${PLANTON_TESTENV_CACHE:-$HOME/.cache/planton/testenv}"
COMPONENTS=(kine kube-apiserver kube-controller-manager kube-scheduler kwok)
NODES=(kwok-node-0 kwok-node-1)
RESTRICTED_USER=planton-test-restricted
# shellcheck source=../tests/testenv/versions.env
. "$MODULE/versions.env"

log() { echo "testenv: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Build (cached by key)

go_env() {
  # The module names the Go it needs; a machine with an older Go fetches the approved toolchain
  # from the module proxy (see README). GOMODCACHE and GOCACHE keep their defaults, so Go's own
  # caches persist across runs too.
  export CGO_ENABLED=0
}

LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=${K8S_VERSION}"
LDFLAGS+=" -X k8s.io/component-base/version.gitMajor=$(echo "$K8S_VERSION" | sed 's/^v\([0-9]*\)\..*/\1/')"
LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | sed 's/^v[0-9]*\.\([0-9]*\)\..*/\1/')"
LDFLAGS+=" -X k8s.io/component-base/version.gitTreeState=clean"

cache_key() {
  local sum
  sum=$( { cat "$MODULE/go.mod" "$MODULE/go.sum"; echo "$LDFLAGS"; go env GOVERSION; } | sha256sum | cut -c1-12)
  echo "k8s-${K8S_VERSION}_kwok-${KWOK_VERSION}_kine-${KINE_VERSION}_${sum}"
}

BIN=""
build() {
  command -v go >/dev/null || die "go is not installed (Go $(sed -n 's/^go //p' "$MODULE/go.mod") or newer is needed)"
  go_env
  local key dir
  key=$(cache_key)
  dir="$CACHE/$key"
  BIN="$dir/bin"
  [ -f "$dir/complete" ] && return 0
  mkdir -p "$CACHE"
  exec 8>"$CACHE/$key.lock"
  flock 8
  if [ ! -f "$dir/complete" ]; then
    log "cold build of kube-apiserver, kube-controller-manager, kube-scheduler ${K8S_VERSION}, kwok ${KWOK_VERSION}, kine ${KINE_VERSION}"
    log "  into $dir (measured: 16-60 min on 2 busy cores; later runs reuse it)"
    local start tmp
    start=$(date +%s)
    tmp="$dir.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp/bin"
    (cd "$MODULE" && go build -trimpath -ldflags="$LDFLAGS" -o "$tmp/bin/" tool) \
      || { rm -rf "$tmp"; die "go build failed (in $MODULE: go build -trimpath -o <dir>/ tool)"; }
    for c in "${COMPONENTS[@]}"; do [ -x "$tmp/bin/$c" ] || { rm -rf "$tmp"; die "the build made no $c"; }; done
    rm -rf "$dir"
    mv "$tmp" "$dir"
    echo "built $(date -u +%FT%TZ) in $(( $(date +%s) - start )) s with $(go env GOVERSION)" > "$dir/complete"
    log "cold build done in $(( $(date +%s) - start )) s"
  fi
  exec 8>&-
}

# ---------------------------------------------------------------------------------------------
# State helpers

pid_of() { cat "$STATE/pids/$1" 2>/dev/null || true; }

# Alive and still the process we started (the pid was not reused by something else).
alive() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "/$1 "
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

api() { # api PATH [curl args...]: a request to the API server as admin
  local path=$1; shift
  curl -sS --max-time 5 --cacert "$STATE/pki/ca.crt" --cert "$STATE/pki/admin.crt" --key "$STATE/pki/admin.key" \
    "https://127.0.0.1:$(cat "$STATE/ports/kube-apiserver")$path" "$@"
}

kubectl_admin() { kubectl --kubeconfig "$STATE/kubeconfig" "$@"; }

print_env() {
  echo "export KUBECONFIG=$STATE/kubeconfig"
  echo "export PLANTON_TESTENV_RESTRICTED_KUBECONFIG=$STATE/restricted.kubeconfig"
}

is_up() {
  [ -f "$STATE/kubeconfig" ] || return 1
  local c
  for c in "${COMPONENTS[@]}"; do alive "$c" || return 1; done
  [ "$(api /readyz 2>/dev/null)" = ok ]
}

# ---------------------------------------------------------------------------------------------
# Certificates and kubeconfigs (openssl; a throwaway CA per `up`)

gen_pki() {
  local pki="$STATE/pki"
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -keyout ca.key -out ca.crt -subj "/CN=planton-testenv-ca" 2>/dev/null
    cert() { # cert NAME SUBJECT [SAN]
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
      local ext
      ext=$(mktemp)
      if [ -n "${3:-}" ]; then
        printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" > "$ext"
      else
        printf 'extendedKeyUsage=clientAuth\n' > "$ext"
      fi
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "$ext" -out "$1.crt" 2>/dev/null
      rm -f "$ext" "$1.csr"
    }
    cert apiserver "/CN=kube-apiserver" \
      "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    cert admin "/O=system:masters/CN=planton-testenv-admin"
    cert restricted "/CN=$RESTRICTED_USER"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

write_kubeconfig() { # write_kubeconfig FILE USER CERTNAME
  local b64='base64 -w0'
  local tmp="$1.tmp"
  cat > "$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: planton-testenv
  cluster:
    server: https://127.0.0.1:$(cat "$STATE/ports/kube-apiserver")
    certificate-authority-data: $($b64 < "$STATE/pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b64 < "$STATE/pki/$3.crt")
    client-key-data: $($b64 < "$STATE/pki/$3.key")
contexts:
- name: $2@planton-testenv
  context:
    cluster: planton-testenv
    user: $2
current-context: $2@planton-testenv
EOF
  chmod 600 "$tmp"
  mv "$tmp" "$1"
}

# ---------------------------------------------------------------------------------------------
# Processes

start() { # start NAME ARGS...: runs $BIN/NAME detached, logs to $STATE/logs/NAME.log
  local name=$1; shift
  # Detached from this shell's session and from its lock (fd 9), which would otherwise stay
  # held for as long as the process runs.
  setsid "$BIN/$name" "$@" </dev/null >"$STATE/logs/$name.log" 2>&1 9>&- &
  echo $! > "$STATE/pids/$name"
}

wait_for() { # wait_for SECONDS WHAT COMMAND...
  local secs=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { log "timed out after ${secs}s waiting for $what"; tail_logs; return 1; }
    sleep 0.2
  done
}

tail_logs() {
  local c
  for c in "${COMPONENTS[@]}"; do
    if ! alive "$c"; then log "$c is not running; end of $STATE/logs/$c.log:"; tail -n 20 "$STATE/logs/$c.log" >&2 2>/dev/null || true; fi
  done
}

readyz_ok() { [ "$(api /readyz)" = ok ]; }
default_sa_exists() { api /api/v1/namespaces/default/serviceaccounts/default -f; }
nodes_ready() { kubectl_admin wait --for=condition=Ready node --all --timeout=1s; }

do_up() {
  local start_s
  start_s=$(date +%s)
  build
  stop_all quiet
  rm -rf "$STATE"
  mkdir -p "$STATE"/{pids,ports,logs,kine}
  gen_pki
  local c
  for c in kine kube-apiserver kwok; do free_port > "$STATE/ports/$c"; done
  write_kubeconfig "$STATE/kubeconfig" planton-testenv-admin admin
  write_kubeconfig "$STATE/restricted.kubeconfig" "$RESTRICTED_USER" restricted

  start kine \
    --listen-address="127.0.0.1:$(cat "$STATE/ports/kine")" \
    --endpoint="sqlite://$STATE/kine/state.db?_journal_mode=WAL&_busy_timeout=30000&_synchronous=OFF&_txlock=immediate" \
    --metrics-bind-address=0
  start kube-apiserver \
    --etcd-servers="http://127.0.0.1:$(cat "$STATE/ports/kine")" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$(cat "$STATE/ports/kube-apiserver")" \
    --tls-cert-file="$STATE/pki/apiserver.crt" --tls-private-key-file="$STATE/pki/apiserver.key" \
    --client-ca-file="$STATE/pki/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$STATE/pki/sa.pub" \
    --service-account-signing-key-file="$STATE/pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --authorization-mode=RBAC \
    --allow-privileged=true \
    --endpoint-reconciler-type=none \
    --profiling=false
  start kube-controller-manager \
    --kubeconfig="$STATE/kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=0 \
    --root-ca-file="$STATE/pki/ca.crt" \
    --service-account-private-key-file="$STATE/pki/sa.key" \
    --leader-elect=false \
    --profiling=false
  start kube-scheduler \
    --kubeconfig="$STATE/kubeconfig" \
    --authentication-kubeconfig="$STATE/kubeconfig" --authorization-kubeconfig="$STATE/kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=0 \
    --leader-elect=false \
    --profiling=false
  local stages=()
  for f in "$MODULE"/stages/*.yaml; do stages+=(--config="$f"); done
  start kwok \
    --kubeconfig="$STATE/kubeconfig" \
    "${stages[@]}" \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr=10.244.0.0/16 --node-ip=127.0.0.1 \
    --node-lease-duration-seconds=40 \
    --server-address="127.0.0.1:$(cat "$STATE/ports/kwok")"

  wait_for 60 "kube-apiserver /readyz" readyz_ok
  local nodes=""
  for n in "${NODES[@]}"; do
    nodes+="---
apiVersion: v1
kind: Node
metadata:
  name: $n
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: $n
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
"
  done
  echo "$nodes" | kubectl_admin apply --server-side --field-manager=planton-testenv -f - >/dev/null
  wait_for 60 "nodes Ready (kwok)" nodes_ready
  wait_for 60 "the default ServiceAccount (kube-controller-manager)" default_sa_exists
  for c in "${COMPONENTS[@]}"; do alive "$c" || { tail_logs; die "$c exited"; }; done
  log "up in $(( $(date +%s) - start_s )) s: https://127.0.0.1:$(cat "$STATE/ports/kube-apiserver") (Kubernetes ${K8S_VERSION})"
}

# stop_all [quiet]: stops every recorded pid, in reverse start order (kine last, so the API
# server can shut down cleanly): SIGTERM, then SIGKILL after 10 s, waiting until each is gone.
stop_all() {
  [ -d "$STATE/pids" ] || return 0
  local i c pid deadline stopped=0
  for (( i=${#COMPONENTS[@]}-1; i>=0; i-- )); do
    c=${COMPONENTS[$i]}
    alive "$c" || continue
    pid=$(pid_of "$c")
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$(( $(date +%s) + 10 ))
    while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$c (pid $pid) did not stop within 10 s of SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    stopped=$(( stopped + 1 ))
  done
  [ -n "${1:-}" ] || [ "$stopped" -eq 0 ] || log "stopped $stopped processes"
}

do_down() {
  local ports=()
  [ -d "$STATE/ports" ] && for c in "$STATE"/ports/*; do [ -f "$c" ] && ports+=("$(cat "$c")"); done
  stop_all
  rm -rf "$STATE"
  local p
  for p in "${ports[@]}"; do
    if ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then die "port $p is still listening after down"; fi
  done
  log "down"
}

do_status() {
  if [ ! -d "$STATE/pids" ]; then log "not started ($STATE)"; return 3; fi
  local c pid rss up=0
  for c in "${COMPONENTS[@]}"; do
    pid=$(pid_of "$c")
    if alive "$c"; then
      rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
      printf '%-24s pid %-8s %6d MiB%s\n' "$c" "$pid" $(( rss / 1024 )) "$( [ -f "$STATE/ports/$c" ] && echo "  127.0.0.1:$(cat "$STATE/ports/$c")")"
      up=$(( up + rss ))
    else
      printf '%-24s not running\n' "$c"
    fi
  done
  printf '%-24s %6d MiB RSS in all\n' total $(( up / 1024 ))
  if is_up; then print_env; else log "not (fully) up"; return 1; fi
}

cmd=${1:-}
case "$cmd" in
  up)
    mkdir -p "$(dirname "$STATE")"
    exec 9>"$STATE.lock"
    flock 9
    if is_up; then log "already up"; else do_up; fi
    print_env
    ;;
  down)
    mkdir -p "$(dirname "$STATE")"
    exec 9>"$STATE.lock"
    flock 9
    do_down
    ;;
  env) print_env ;;
  status) do_status ;;
  *) echo "usage: scripts/testenv.sh up|down|env|status" >&2; exit 2 ;;
esac
