#!/usr/bin/env bash
# Throughput of a trivial handler with and without AuthorizeLayer, in the same run, with wrk on
# loopback. Every guarded request carries a registry token (HTTP Basic), is authenticated against
# the identity store and gets a policy decision.
#
# Usage: bash benches/middleware.sh [seconds] [connections] [pairs]    (env LAYOUT=guarded|per_route)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
pairs=${3:-9}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p warden-bench --bin overhead-server
out=$(mktemp)
# The server on core 0, wrk on core 1: the two do not compete for a core, so runs are steadier.
pin_server=(); pin_wrk=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_server=(taskset -c 0); pin_wrk=(taskset -c 1); fi
"${pin_server[@]}" ./target/release/overhead-server policies >"$out" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q '^token=' "$out" && break; sleep 0.1; done
# LAYOUT=per_route measures the layer applied with axum's Router::layer instead of around the router.
layout=${LAYOUT:-guarded}
plain=$(sed -n 's/^plain=//p' "$out"); guarded=$(sed -n "s/^$layout=//p" "$out"); token=$(sed -n 's/^token=//p' "$out")
[ -n "$guarded" ] || { echo "unknown LAYOUT=$layout (guarded or per_route)" >&2; exit 2; }
url_path=/v2/team/app/tags/list
# Sanity: the guarded server answers 200 with the token and 401 without.
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Basic $token" "http://127.0.0.1:$guarded$url_path")" = 200 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$guarded$url_path")" = 401 ]
run() { "${pin_wrk[@]}" wrk -t1 -c"$conns" -d"${secs}s" -H "Authorization: Basic $token" "http://127.0.0.1:$1$url_path" | awk '/Requests\/sec/ {print $2}'; }
# Alternate plain and guarded runs, so drift on the machine (a shared VM) hits both alike. Each
# pair gives one overhead figure; the median of the pairs is the result.
declare -a p g o
for i in $(seq "$pairs"); do
  p+=("$(run "$plain")")
  g+=("$(run "$guarded")")
  o+=("$(awk -v a="${p[-1]}" -v b="${g[-1]}" 'BEGIN { printf "%.2f", (1 - b / a) * 100 }')")
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
echo "plain:   ${p[*]} req/s (median $(median "${p[@]}"))"
echo "guarded: ${g[*]} req/s (median $(median "${g[@]}"))"
echo "overhead per pair: ${o[*]} %"
echo "layer overhead: $(median "${o[@]}")% of throughput, median of $pairs pairs (target: at most 5%)"
