#!/usr/bin/env bash
# Throughput and latency of the authorizer on loopback, in one run:
#   noop    POST /v1/noop (hidden, --bench-noop): same server stack, no decision — the HTTP floor
#   single  POST /v1/authorize, one decision per request
#   batch   POST /v1/authorize/batch, BATCH decisions per request
#   authzen POST /access/v1/evaluations (OpenID AuthZEN), the same BATCH decisions per request
# each at peak load (CONNS connections) and at about half load: wrk2 -R <half of peak> when wrk2
# is installed, otherwise wrk with HALF_CONNS connections (reported as such).
#
# Usage: bash crates/warden-sidecar/bench/authorize.sh        (from the repository root)
# Env:   DURATION=10s CONNS=32 HALF_CONNS=2 THREADS=1 BATCH=10 PORT=18190
#        AUTHORIZER_BIN=path (skip the build)
# Needs: wrk (apt-get install -y wrk); wrk2 optional.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
crate="$(dirname "$here")"
DURATION="${DURATION:-10s}"
CONNS="${CONNS:-32}"
HALF_CONNS="${HALF_CONNS:-2}"
THREADS="${THREADS:-1}"
BATCH="${BATCH:-10}"
PORT="${PORT:-18190}"
command -v wrk >/dev/null || { echo "wrk is required: apt-get install -y wrk" >&2; exit 1; }

bin="${AUTHORIZER_BIN:-}"
if [[ -z "$bin" ]]; then
    (cd "$crate/../.." && cargo build --release -q -p warden-sidecar --example authorizer)
    bin="$crate/../../target/release/examples/authorizer"
fi

work="$(mktemp -d)"
"$bin" --policies "$crate/examples/policies" --listen "127.0.0.1:$PORT" --bench-noop 2>"$work/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

one='{"principal":"arn:aws:iam::111122223333:user/alice","action":"notes:GetNote","resource":"arn:aws:notes:us-east-1:111122223333:note/public/todo","context":[{"key":"aws:SourceIp","type":"ip","values":["203.0.113.7"]}]}'
batch="{\"requests\":[$(printf "$one,%.0s" $(seq "$BATCH") | sed 's/,$//')]}"
# The same decisions as AuthZEN: the subject, action and context as defaults, one resource per item.
item='{"resource":{"type":"note","id":"arn:aws:notes:us-east-1:111122223333:note/public/todo"}}'
authzen="{\"subject\":{\"type\":\"iam_principal\",\"id\":\"arn:aws:iam::111122223333:user/alice\"},\"action\":{\"name\":\"notes:GetNote\"},\"context\":{\"aws:SourceIp\":\"203.0.113.7\"},\"evaluations\":[$(printf "$item,%.0s" $(seq "$BATCH") | sed 's/,$//')]}"
lua() { # body-file -> wrk script
    printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal f = io.open("%s")\nwrk.body = f:read("*a")\nf:close()\n' "$1"
}
printf '%s' "$one" >"$work/one.json"; lua "$work/one.json" >"$work/single.lua"
printf '%s' "$batch" >"$work/batch.json"; lua "$work/batch.json" >"$work/batch.lua"
printf '%s' "$authzen" >"$work/authzen.json"; lua "$work/authzen.json" >"$work/authzen.lua"
cp "$work/single.lua" "$work/noop.lua"
# Sanity: the request decides what we think it decides.
curl -sf -H 'content-type: application/json' -d "$one" "http://127.0.0.1:$PORT/v1/authorize" | grep -q '"decision":"Allow"'
curl -sf -H 'content-type: application/json' -d "$authzen" "http://127.0.0.1:$PORT/access/v1/evaluations" \
    | grep -q '"decision":true' || { echo "the AuthZEN batch does not decide as expected" >&2; exit 1; }

# run NAME PATH SCRIPT DECISIONS-PER-REQUEST WRK-ARGS... -> "rps p50 p99"
run() {
    local path="$2" script="$3"; shift 3
    local out; out="$("$@" --latency -s "$script" "http://127.0.0.1:$PORT$path")"
    local rps p50 p99
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" || $1 == "50.000%" {print $2; exit}' <<<"$out")"
    p99="$(awk '$1 == "99%" || $1 == "99.000%" {print $2; exit}' <<<"$out")"
    echo "$rps $p50 $p99"
}

printf '%-8s %-6s %12s %14s %10s %10s\n' endpoint load "requests/s" "decisions/s" p50 p99
declare -A peak
for name in noop single batch authzen; do
    path=/v1/authorize; per=1
    [[ $name == noop ]] && path=/v1/noop && per=0
    [[ $name == batch ]] && path=/v1/authorize/batch && per=$BATCH
    [[ $name == authzen ]] && path=/access/v1/evaluations && per=$BATCH
    read -r rps p50 p99 < <(run "$name" "$path" "$work/$name.lua" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION")
    peak[$name]="$rps"
    printf '%-8s %-6s %12.0f %14.0f %10s %10s\n' "$name" peak "$rps" "$(awk -v r="$rps" -v p="$per" 'BEGIN{print r*p}')" "$p50" "$p99"
    if command -v wrk2 >/dev/null; then
        rate="$(awk -v r="$rps" 'BEGIN{printf "%d", r/2}')"
        read -r rps p50 p99 < <(run "$name" "$path" "$work/$name.lua" wrk2 -t"$THREADS" -c"$CONNS" -d"$DURATION" -R"$rate")
        label="half"
    else
        read -r rps p50 p99 < <(run "$name" "$path" "$work/$name.lua" wrk -t"$THREADS" -c"$HALF_CONNS" -d"$DURATION")
        label="c=$HALF_CONNS"
    fi
    printf '%-8s %-6s %12.0f %14.0f %10s %10s\n' "$name" "$label" "$rps" "$(awk -v r="$rps" -v p="$per" 'BEGIN{print r*p}')" "$p50" "$p99"
done
awk -v s="${peak[single]}" -v n="${peak[noop]}" 'BEGIN{printf "single /v1/authorize at peak: %.0f%% of the no-op floor (target >= 50%%)\n", 100*s/n}'
awk -v a="${peak[authzen]}" -v b="${peak[batch]}" 'BEGIN{printf "AuthZEN /access/v1/evaluations at peak: %.0f%% of /v1/authorize/batch\n", 100*a/b}'
if ! command -v wrk2 >/dev/null; then
    echo "(wrk2 not installed: the half-load rows use $HALF_CONNS connections instead of a fixed rate; compare their requests/s with half of peak)"
fi
