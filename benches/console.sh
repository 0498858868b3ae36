#!/usr/bin/env bash
# The console's cost on the registry's request path: the same ECR call (DescribeRepositories of one
# repository) made as the AWS CLI makes it (SigV4 on `POST /`) and as the console makes it (session
# cookie + CSRF token on `POST /console/api/ecr`), against one `warden serve` (release build, trail
# on, throttle off so the quota does not cap the rate), with wrk on loopback, alternating the two
# in pairs so drift on the machine hits both alike. Also the page's script as the browser loads it.
#
# Usage: bash benches/console.sh [seconds] [connections] [pairs]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
conns=${2:-16}
pairs=${3:-5}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
python3 -c 'import botocore' 2>/dev/null || { echo "botocore is required (pip install awscli)" >&2; exit 1; }
cargo build --release -q -p warden-cli
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
host=127.0.0.1:$port
pin_server=(); pin_wrk=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_server=(taskset -c 0); pin_wrk=(taskset -c 1); fi
"${pin_server[@]}" ./target/release/warden serve --listen "$host" --data-dir "$dir/data" --policies policies \
  --throttle off >"$dir/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$dir/log" 2>/dev/null && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
aws ecr --endpoint-url "http://$host" --region us-east-1 create-repository --repository-name bench/app >/dev/null
body='{"repositoryNames":["bench/app"]}'
target=AmazonEC2ContainerRegistry_V20150921.DescribeRepositories

# The console's session: sign in once, read the CSRF token.
curl -s -c "$dir/jar" -H 'Content-Type: application/json' \
  -d "{\"accessKeyId\":\"$AWS_ACCESS_KEY_ID\",\"secretAccessKey\":\"$AWS_SECRET_ACCESS_KEY\"}" \
  "http://$host/console/api/signin" >"$dir/session"
cookie=$(awk '$6 == "warden-session" {print $7}' "$dir/jar")
csrf=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrfToken"])' "$dir/session")
cat >"$dir/console.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "$target"
wrk.headers["Cookie"] = "warden-session=$cookie"
wrk.headers["X-Warden-Csrf"] = "$csrf"
EOF
# The AWS CLI's request: signed once by botocore, replayed (valid for the signature's 15 minutes).
python3 - "$host" "$body" "$target" >"$dir/sigv4.lua" <<'EOF'
import sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
import os
host, body, target = sys.argv[1:4]
req = AWSRequest(method="POST", url=f"http://{host}/", data=body,
                 headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
SigV4Auth(Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]), "ecr", "us-east-1").add_auth(req)
print('wrk.method = "POST"')
print(f"wrk.body = '{body}'")
for k, v in req.headers.items():
    print(f'wrk.headers["{k}"] = "{v}"')
EOF
# Sanity: both answer 200 with the repository.
for script in sigv4 console; do
  path=/; [ $script = console ] && path=/console/api/ecr
  args=()
  while IFS= read -r line; do args+=(-H "$line"); done \
    < <(sed -n 's/^wrk.headers\["\(.*\)"\] = "\(.*\)"$/\1: \2/p' "$dir/$script.lua")
  code=$(curl -s -o "$dir/answer" -w '%{http_code}' "${args[@]}" --data-binary "$body" "http://$host$path")
  [ "$code" = 200 ] && grep -q bench/app "$dir/answer" || { echo "$script: HTTP $code $(cat "$dir/answer")" >&2; exit 1; }
done
run() { "${pin_wrk[@]}" wrk -t1 -c"$conns" -d"${secs}s" -s "$dir/$1.lua" "http://$host$2" | awk '/Requests\/sec/ {print $2}'; }
declare -a s c r
for _ in $(seq "$pairs"); do
  s+=("$(run sigv4 /)")
  c+=("$(run console /console/api/ecr)")
  r+=("$(awk -v a="${s[-1]}" -v b="${c[-1]}" 'BEGIN { printf "%.2f", b / a }')")
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
assets=$("${pin_wrk[@]}" wrk -t1 -c"$conns" -d"${secs}s" "http://$host/console/assets/app.js" | awk '/Requests\/sec/ {print $2}')
echo "DescribeRepositories, $conns connections, ${secs}s runs, $pairs pairs:"
echo "  AWS CLI (SigV4, POST /):                ${s[*]} req/s (median $(median "${s[@]}"))"
echo "  console (cookie + CSRF, /console/api):  ${c[*]} req/s (median $(median "${c[@]}"))"
echo "  console / SigV4 per pair:               ${r[*]} (median $(median "${r[@]}"))"
echo "GET /console/assets/app.js ($(wc -c < crates/warden-registry/src/console/assets/app.js) bytes): $assets req/s"
