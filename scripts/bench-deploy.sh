#!/usr/bin/env bash
# Deploy benchmark on the example service (examples/order-api, overlay staging) against the
# testenv (or KUBECONFIG): a first deploy into a fresh namespace and a no-change deploy, each
# end to end through the release `planton` binary, with wall time (median of N runs) and the
# API requests the deploy made (reads, dry-runs, writes; from `--output json`).
#
#   scripts/bench-deploy.sh [RUNS]      # default 5
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-5}
cd "$ROOT"
if [ -z "${KUBECONFIG:-}" ]; then
  eval "$(scripts/testenv.sh up)"
fi
if [ -z "${PLANTON_BIN:-}" ]; then
  cargo build --release -q -p planton-runner
fi
BIN="${PLANTON_BIN:-$ROOT/target/release/planton}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -r examples/order-api "$WORK/svc"
mkdir -p "$WORK/svc/groups"
cat > "$WORK/svc/groups/groups.yaml" <<'G'
apiVersion: service-hub.planton.ai/v1
kind: SecretsGroup
metadata: {name: postgres}
spec: {entries: [{name: order-api-password, value: bench-secret}]}
---
apiVersion: service-hub.planton.ai/v1
kind: SecretsGroup
metadata: {name: stripe}
spec: {entries: [{name: test-key, value: bench-secret}, {name: live-key, value: bench-secret}]}
---
apiVersion: service-hub.planton.ai/v1
kind: VariablesGroup
metadata: {name: postgres}
spec: {entries: [{name: host, value: db.internal}]}
G
IMAGE=registry.k8s.io/pause:3.10
run() { # ns -> "ms reads dryruns writes"
  local start end out
  start=$(date +%s%N)
  out=$("$BIN" deploy "$WORK/svc" --env staging --image "$IMAGE" --namespace "$1" -o json 2>/dev/null)
  end=$(date +%s%N)
  echo "$(( (end - start) / 1000000 )) $(echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(r["reads"], r["dryRuns"], r["writes"])')"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
first=(); nochange=()
NSS=()
for i in $(seq "$RUNS"); do
  ns="planton-bench-$$-$i"; NSS+=("$ns")
  first+=("$(run "$ns")")
  nochange+=("$(run "$ns")")
done
f_ms=$(printf '%s\n' "${first[@]}" | awk '{print $1}' | median)
n_ms=$(printf '%s\n' "${nochange[@]}" | awk '{print $1}' | median)
echo "first deploy    : median ${f_ms} ms over $RUNS runs; requests (reads dry-runs writes): $(echo "${first[0]}" | cut -d' ' -f2-)"
echo "no-change deploy: median ${n_ms} ms over $RUNS runs; requests (reads dry-runs writes): $(echo "${nochange[0]}" | cut -d' ' -f2-)"
awk -v f="$f_ms" -v n="$n_ms" 'BEGIN {printf "no-change / first: %.2f\n", n / f}'
echo "(namespaces ${NSS[*]} are left in the cluster; scripts/testenv.sh down removes everything)"
