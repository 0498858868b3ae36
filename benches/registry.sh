#!/usr/bin/env bash
# Push and pull throughput with skopeo: `warden serve` (auth on: admin's password from
# `warden get-login-password`) against CNCF Distribution (Debian's `docker-registry`, no auth) as
# the baseline, in the same run, on loopback — on the default storage (filesystem + SQLite), and
# with --scale-out also on Garage (S3) + PostgreSQL (`warden-s3pg`), next to Distribution on the
# same Garage through its S3 driver (`dist-s3`). Measures
#   (a) one big image (one layer of random data, BIG_MIB MiB): MB/s, push and pull;
#   (b) SMALL_COUNT small images (each one layer of SMALL_KIB KiB of random data): images/s,
#       push and pull, PAR skopeo processes at a time.
# Each figure is the median of REPEAT runs, each run into a fresh repository. Prints both servers
# and the ratios warden/baseline, stops both servers, and stays within TIME_LIMIT seconds.
# See benches/REGISTRY.md.
#
# With --trail-compare, a warden with `--trail off` (`warden-notrail`) and one with
# `--trail-sync-window-ms 20` (`warden-window`: mutating calls answered once their record is
# written, synced within 20 ms) run beside the default one (every mutating call synced to the
# trail before the answer): the paired ratios against warden-notrail are the trail's cost
# (target: within 5 %).
#
# Usage: bash benches/registry.sh [--baseline-only | --scale-out | --trail-compare]
#   env: BIG_MIB=512 SMALL_COUNT=200 SMALL_KIB=16 REPEAT=3 PAR=4 TIME_LIMIT=1800 CMD_TIMEOUT=600
set -euo pipefail
cd "$(dirname "$0")/.."

baseline_only=0
scale_out=0
trail_compare=0
for arg in "$@"; do
  case "$arg" in
    --baseline-only) baseline_only=1 ;;
    --scale-out) scale_out=1 ;;
    --trail-compare) trail_compare=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (usage: bash benches/registry.sh [--baseline-only | --scale-out])" >&2; exit 2 ;;
  esac
done

BIG_MIB=${BIG_MIB:-512}
SMALL_COUNT=${SMALL_COUNT:-200}
SMALL_KIB=${SMALL_KIB:-16}
REPEAT=${REPEAT:-3}
PAR=${PAR:-4}
TIME_LIMIT=${TIME_LIMIT:-1800}
CMD_TIMEOUT=${CMD_TIMEOUT:-600}

need() { command -v "$1" >/dev/null || { echo "$1 is required: $2" >&2; exit 1; }; }
need skopeo "apt-get install -y skopeo"
need docker-registry "apt-get install -y docker-registry"
need curl "apt-get install -y curl"
need python3 "apt-get install -y python3"
need timeout "apt-get install -y coreutils"

work=$(mktemp -d "${TMPDIR:-/tmp}/warden-registry-bench.XXXXXX")
pids=()
watchdog=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "registry bench: interrupted (time limit ${TIME_LIMIT}s?)" >&2; exit 124' TERM INT
# The whole run is bounded: past TIME_LIMIT the script is stopped (and cleans up).
( trap 'kill "$s" 2>/dev/null; exit 0' TERM; sleep "$TIME_LIMIT" & s=$!; wait "$s" && kill -TERM $$ ) >/dev/null 2>&1 &
watchdog=$!

# Server on core 0, skopeo on core 1: the two do not compete for a core, and both servers get the
# same single core.
pin_server=(); pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_server=(taskset -c 0); pin_client=(taskset -c 1); fi

# skopeo as the benchmark runs it: on the client core, time-limited, no host policy or auth files.
# (REGISTRY_AUTH_FILE only there: Distribution reads REGISTRY_* variables as configuration.)
mkdir -p "$work/home"
SKOPEO="$work/skopeo"
printf '#!/bin/sh\nHOME=%s XDG_RUNTIME_DIR=%s REGISTRY_AUTH_FILE=%s exec %s timeout %s skopeo --insecure-policy "$@"\n' \
  "$work/home" "$work/home" "$work/home/auth.json" "${pin_client[*]}" "$CMD_TIMEOUT" >"$SKOPEO"
chmod +x "$SKOPEO"

echo "== images: per run, one of ${BIG_MIB} MiB and ${SMALL_COUNT} of ${SMALL_KIB} KiB (OCI layout, gzip layers), $REPEAT runs"
# An OCI image layout written directly (umoci would take minutes for hundreds of images): one
# gzip layer of random data per image (incompressible: the blob is the size of the data), a
# linux/amd64 config, a manifest, a tag in index.json.
# A separate set per run (big-R, small-R-I): skopeo run as root keeps a machine-wide blob-info
# cache (/var/lib/containers/cache) and would turn a second push of the same blobs to the same
# registry into cross-repository mounts (POST ...?mount=&from=), measuring nothing.
timeout "$CMD_TIMEOUT" python3 - "$work/src" "$BIG_MIB" "$SMALL_COUNT" "$SMALL_KIB" "$REPEAT" <<'EOF'
import gzip, hashlib, io, json, os, sys, tarfile
root, big_mib, count, small_kib, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
blobs = os.path.join(root, "blobs", "sha256")
os.makedirs(blobs)
open(os.path.join(root, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')

def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return "sha256:" + d, len(data)

def layer(nbytes):
    # tar of one file of random bytes, gzip level 1, streamed through temp files for big sizes
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        info = tarfile.TarInfo("data.bin"); info.size = nbytes; info.mode = 0o644
        t.addfile(info, io.BufferedReader(RandomReader(nbytes)))
    tar = raw.getvalue()
    diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
    gz = gzip.compress(tar, compresslevel=1, mtime=0)
    digest, size = put(gz)
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size}, diff_id

class RandomReader(io.RawIOBase):
    def __init__(self, n): self.left = n
    def readable(self): return True
    def readinto(self, b):
        n = min(len(b), self.left, 1 << 20)
        if n <= 0: return 0
        b[:n] = os.urandom(n); self.left -= n
        return n

index = {"schemaVersion": 2, "manifests": []}
def image(tag, nbytes):
    l, diff_id = layer(nbytes)
    config = {"architecture": "amd64", "os": "linux", "config": {"Labels": {"bench": tag}},
              "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    cd, cs = put(json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                "layers": [l]}
    md, ms = put(json.dumps(manifest).encode())
    index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
                               "annotations": {"org.opencontainers.image.ref.name": tag}})
    return l["size"] + cs + ms

for r in range(1, repeat + 1):
    total = image("big-%d" % r, big_mib << 20)
    open(os.path.join(root, "big-%d.bytes" % r), "w").write(str(total))
    for i in range(count):
        image("small-%d-%d" % (r, i), small_kib << 10)
json.dump(index, open(os.path.join(root, "index.json"), "w"))
EOF

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { # host pid log
  for _ in $(seq 300); do
    curl -s -o /dev/null "http://$1/v2/" && return 0
    kill -0 "$2" 2>/dev/null || { echo "server exited:" >&2; tail -20 "$3" >&2; exit 1; }
    sleep 0.1
  done
  echo "server on $1 not ready in 30 s:" >&2; tail -20 "$3" >&2; exit 1
}

# Each server sets: host, creds (skopeo --dest-creds/--src-creds value, or empty).
declare -A host_of creds_of
start_distribution() {
  local dir="$work/distribution" port
  mkdir -p "$dir/data"
  port=$(free_port)
  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
EOF
  "${pin_server[@]}" docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  pids+=($!)
  host_of[distribution]=127.0.0.1:$port
  wait_ready "${host_of[distribution]}" "${pids[-1]}" "$dir/log"
  creds_of[distribution]=
}

# Throughput against an unthrottled baseline: --throttle off (ECR's push quota, 10 a second to a
# repository, would cap the small-image pushes). start_warden [NAME [ARGS...]]: the audit trail is
# on (the default) unless ARGS say otherwise.
declare -A data_of
start_warden() {
  local name=${1:-warden} dir port
  dir="$work/$name"
  mkdir -p "$dir/data"
  port=$(free_port)
  "${pin_server[@]}" ./target/release/warden serve --listen "127.0.0.1:$port" --data-dir "$dir/data" \
    --policies policies --account-id 111122223333 --region us-east-1 --throttle off "${@:2}" >"$dir/log" 2>&1 &
  pids+=($!)
  host_of[$name]=127.0.0.1:$port
  wait_ready "${host_of[$name]}" "${pids[-1]}" "$dir/log"
  creds_of[$name]="AWS:$(timeout 60 ./target/release/warden get-login-password --user admin --data-dir "$dir/data" --policies policies)"
  data_of[$name]="$dir/data"
}

# The scale-out engines, private to this run: Garage (S3 API on a free port, one node, one bucket,
# one key) and PostgreSQL (initdb in the work dir, as the `postgres` user when run as root).
start_garage() {
  local dir="$work/garage" rpc s3 admin node key g
  mkdir -p "$dir"
  rpc=$(free_port); s3=$(free_port); admin=$(free_port)
  cat >"$dir/garage.toml" <<TOML
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"
[admin]
api_bind_addr = "127.0.0.1:$admin"
TOML
  g=(garage -c "$dir/garage.toml")
  "${pin_server[@]}" "${g[@]}" server >"$dir/log" 2>&1 &
  pids+=($!)
  # `status` asks the server over RPC (`node id` only reads a local file): wait for it.
  for _ in $(seq 150); do "${g[@]}" status >/dev/null 2>&1 && break; sleep 0.2; done
  "${g[@]}" status >/dev/null 2>&1 || { echo "garage did not start:" >&2; tail -20 "$dir/log" >&2; exit 1; }
  node=$("${g[@]}" node id -q | cut -d@ -f1)
  "${g[@]}" layout assign -z dc1 -c 1G "$node" >/dev/null
  "${g[@]}" layout apply --version 1 >/dev/null
  "${g[@]}" bucket create bench >/dev/null
  key=$("${g[@]}" key create bench-key)
  "${g[@]}" bucket allow --read --write --owner bench --key bench-key >/dev/null
  s3_key=$(printf '%s\n' "$key" | awk '/Key ID/ {print $NF}')
  s3_secret=$(printf '%s\n' "$key" | awk '/Secret key/ {print $NF}')
  s3_endpoint=http://127.0.0.1:$s3
}

start_postgres() {
  local dir="$work/postgres" bin as=() port
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  mkdir -p "$dir"
  printf 'bench-password\n' >"$dir/pwfile"
  # initdb refuses root: as root, the cluster is the `postgres` user's (who must reach its directory).
  if [ "$(id -u)" = 0 ]; then chmod 755 "$work"; chown -R postgres:postgres "$dir"; as=(runuser -u postgres --); fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U warden --auth=scram-sha-256 --pwfile="$dir/pwfile" >"$dir/initdb.log" 2>&1
  port=$(free_port)
  "${pin_server[@]}" "${as[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 >"$dir/log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break; sleep 0.2; done
  PGPASSWORD=bench-password "$bin/psql" -q -h 127.0.0.1 -p "$port" -U warden -d postgres -c 'CREATE DATABASE registry'
  pg_url="postgres://warden:bench-password@127.0.0.1:$port/registry"
}

# The environment of every `warden` command of the scale-out instance.
s3pg_env() {
  env AWS_ACCESS_KEY_ID="$s3_key" AWS_SECRET_ACCESS_KEY="$s3_secret" WARDEN_BLOB_STORE=s3://bench/warden \
    WARDEN_S3_ENDPOINT="$s3_endpoint" WARDEN_S3_REGION=garage WARDEN_METADATA="$pg_url" "$@"
}

start_warden_s3pg() {
  local dir="$work/warden-s3pg" port
  mkdir -p "$dir/data"
  port=$(free_port)
  s3pg_env "${pin_server[@]}" ./target/release/warden serve --listen "127.0.0.1:$port" --data-dir "$dir/data" \
    --policies policies --account-id 111122223333 --region us-east-1 --throttle off >"$dir/log" 2>&1 &
  pids+=($!)
  host_of[warden-s3pg]=127.0.0.1:$port
  wait_ready "${host_of[warden-s3pg]}" "${pids[-1]}" "$dir/log"
  creds_of[warden-s3pg]="AWS:$(s3pg_env timeout 60 ./target/release/warden get-login-password --user admin --data-dir "$dir/data" --policies policies)"
  warden_s3pg_data="$dir/data"
}

# Distribution on the same Garage, through its S3 driver (its own root directory in the bucket).
start_distribution_s3() {
  local dir="$work/dist-s3" port
  mkdir -p "$dir"
  port=$(free_port)
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  s3:
    accesskey: $s3_key
    secretkey: $s3_secret
    region: garage
    regionendpoint: $s3_endpoint
    bucket: bench
    rootdirectory: /distribution
    forcepathstyle: true
    secure: false
    v4auth: true
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
YAML
  # Without AWS_CA_BUNDLE: Distribution's S3 driver panics loading a CA bundle into its custom
  # transport (LoadCustomCABundleError); the endpoint is plain HTTP on loopback anyway.
  env -u AWS_CA_BUNDLE "${pin_server[@]}" docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  pids+=($!)
  host_of[dist-s3]=127.0.0.1:$port
  wait_ready "${host_of[dist-s3]}" "${pids[-1]}" "$dir/log"
  creds_of[dist-s3]=
}

# Distribution creates repositories on push; ECR (and warden) do not.
create_repo() { # server repository
  case "$1" in
    warden|warden-notrail|warden-window) timeout 60 ./target/release/warden create-repository --repository-name "$2" --data-dir "${data_of[$1]}" >/dev/null ;;
    warden-s3pg) s3pg_env timeout 60 ./target/release/warden create-repository --repository-name "$2" --data-dir "$warden_s3pg_data" >/dev/null ;;
  esac
}

now() { date +%s.%N; }
mbps() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) / 1e6 }'; }
per_s() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.2f", n / (b - a) }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.2f", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# run_once SERVER R: one run of every workload against SERVER, appended to its figures.
declare -A big_push big_pull small_push small_pull
run_once() {
  local name=$1 r=$2 t0 t1 bp bl sp sl host=${host_of[$1]} creds=${creds_of[$1]} dest src
  if [ -n "$creds" ]; then dest=--dest-creds="$creds"; src=--src-creds="$creds"; else dest=--dest-tls-verify=false; src=--src-tls-verify=false; fi
  create_repo "$name" "bench/big-$r"
  create_repo "$name" "bench/small-$r"

  big_bytes=$(cat "$work/src/big-$r.bytes")
  t0=$(now)
  "$SKOPEO" copy --quiet --dest-tls-verify=false "$dest" "oci:$work/src:big-$r" "docker://$host/bench/big-$r:v1" >/dev/null
  t1=$(now); bp=$(mbps "$big_bytes" "$t0" "$t1")

  t0=$(now)
  "$SKOPEO" copy --quiet --src-tls-verify=false "$src" "docker://$host/bench/big-$r:v1" "dir:$work/pull-big" >/dev/null
  t1=$(now); bl=$(mbps "$big_bytes" "$t0" "$t1")
  [ "$(du -sb "$work/pull-big" | cut -f1)" -ge "$big_bytes" ] || { echo "big pull incomplete" >&2; exit 1; }
  rm -rf "$work/pull-big"

  t0=$(now)
  seq 0 $((SMALL_COUNT - 1)) | xargs -P "$PAR" -I{} bash -c \
    '"$0" copy --quiet --dest-tls-verify=false "$1" "oci:$2/src:small-$5-$4" "docker://$3:$4" >/dev/null' "$SKOPEO" \
    "$dest" "$work" "$host/bench/small-$r" {} "$r"
  t1=$(now); sp=$(per_s "$SMALL_COUNT" "$t0" "$t1")

  mkdir -p "$work/pull-small"
  t0=$(now)
  seq 0 $((SMALL_COUNT - 1)) | xargs -P "$PAR" -I{} bash -c \
    '"$0" copy --quiet --src-tls-verify=false "$1" "docker://$3:$4" "dir:$2/pull-small/$4" >/dev/null' "$SKOPEO" \
    "$src" "$work" "$host/bench/small-$r" {}
  t1=$(now); sl=$(per_s "$SMALL_COUNT" "$t0" "$t1")
  # Every small image came back whole.
  [ "$(find "$work/pull-small" -name manifest.json | wc -l)" -eq "$SMALL_COUNT" ] || { echo "small pulls incomplete" >&2; exit 1; }
  rm -rf "$work/pull-small"
  printf '   run %s %-12s big push %7s MB/s, big pull %7s MB/s, small push %6s images/s, small pull %6s images/s\n' \
    "$r" "$name:" "$bp" "$bl" "$sp" "$sl"
  big_push[$name]+=" $bp"; big_pull[$name]+=" $bl"; small_push[$name]+=" $sp"; small_pull[$name]+=" $sl"
}

servers=(distribution)
start_distribution
echo "== distribution on ${host_of[distribution]}"
if [ "$baseline_only" = 0 ]; then
  need cargo "install the Rust toolchain (rustup)"
  timeout "$CMD_TIMEOUT" cargo build --release -q -p warden-cli
  start_warden
  echo "== warden on ${host_of[warden]}"
  servers+=(warden)
fi
if [ "$trail_compare" = 1 ] && [ "$baseline_only" = 0 ]; then
  start_warden warden-notrail --trail off
  echo "== warden-notrail on ${host_of[warden-notrail]} (--trail off)"
  start_warden warden-window --trail-sync-window-ms 20
  echo "== warden-window on ${host_of[warden-window]} (--trail-sync-window-ms 20)"
  servers+=(warden-notrail warden-window)
fi
if [ "$scale_out" = 1 ]; then
  need garage "cargo install garage --locked"
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "PostgreSQL is required: apt-get install -y postgresql" >&2; exit 1; }
  start_garage
  start_postgres
  start_warden_s3pg
  echo "== warden-s3pg on ${host_of[warden-s3pg]} (Garage $s3_endpoint, PostgreSQL)"
  servers+=(warden-s3pg)
  start_distribution_s3
  echo "== dist-s3 on ${host_of[dist-s3]} (Distribution on the same Garage, S3 driver)"
  servers+=(dist-s3)
fi

# Runs alternate between the servers (and which goes first), so drift on the machine (a shared
# VM: the same server's big pull has moved between 200 and 390 MB/s within minutes) hits both alike.
for r in $(seq "$REPEAT"); do
  order=("${servers[@]}")
  # Even runs go in reverse order.
  if [ $((r % 2)) = 0 ]; then order=(); for ((i = ${#servers[@]} - 1; i >= 0; i--)); do order+=("${servers[$i]}"); done; fi
  for name in "${order[@]}"; do run_once "$name" "$r"; done
done

echo
echo "== results (median of $REPEAT; big: ${BIG_MIB} MiB image, MB = 10^6 bytes; small: ${SMALL_COUNT} x ${SMALL_KIB} KiB images, ${PAR} at a time)"
printf '%-14s %16s %16s %20s %20s\n' server "big push MB/s" "big pull MB/s" "small push images/s" "small pull images/s"
declare -A med
for name in "${servers[@]}"; do
  for fig in big_push big_pull small_push small_pull; do
    declare -n runs=$fig
    # shellcheck disable=SC2086
    med[$name.$fig]=$(median ${runs[$name]})
    unset -n runs
  done
  printf '%-14s %16s %16s %20s %20s\n' "$name" "${med[$name.big_push]}" "${med[$name.big_pull]}" "${med[$name.small_push]}" "${med[$name.small_pull]}"
done
if [ "$baseline_only" = 0 ]; then
  # Run r of one server and run r of the other ran back to back: the median of those per-run
  # ratios is the figure least moved by the machine's drift.
  paired() { # figure [server baseline]
    local -n fig=$1
    local w d ratios=() i
    read -r -a w <<<"${fig[${2:-warden}]}"; read -r -a d <<<"${fig[${3:-distribution}]}"
    for i in "${!w[@]}"; do ratios+=("$(ratio "${w[$i]}" "${d[$i]}")"); done
    median "${ratios[@]}"
  }
  printf '%-14s %16s %16s %20s %20s\n' "paired ratio" "$(paired big_push)" "$(paired big_pull)" "$(paired small_push)" "$(paired small_pull)"
  printf '%-14s %16s %16s %20s %20s\n' "warden/dist" \
    "$(ratio "${med[warden.big_push]}" "${med[distribution.big_push]}")" \
    "$(ratio "${med[warden.big_pull]}" "${med[distribution.big_pull]}")" \
    "$(ratio "${med[warden.small_push]}" "${med[distribution.small_push]}")" \
    "$(ratio "${med[warden.small_pull]}" "${med[distribution.small_pull]}")"
fi
if [ "$scale_out" = 1 ] && [ "$baseline_only" = 0 ]; then
  printf '%-14s %16s %16s %20s %20s\n' "s3pg/dist-s3" "$(paired big_push warden-s3pg dist-s3)" "$(paired big_pull warden-s3pg dist-s3)" \
    "$(paired small_push warden-s3pg dist-s3)" "$(paired small_pull warden-s3pg dist-s3)"
  printf '%-14s %16s %16s %20s %20s\n' "s3pg/warden" "$(paired big_push warden-s3pg warden)" "$(paired big_pull warden-s3pg warden)" \
    "$(paired small_push warden-s3pg warden)" "$(paired small_pull warden-s3pg warden)"
fi
if [ "$trail_compare" = 1 ] && [ "$baseline_only" = 0 ]; then
  printf '%-14s %16s %16s %20s %20s\n' "trail on/off" "$(paired big_push warden warden-notrail)" "$(paired big_pull warden warden-notrail)" \
    "$(paired small_push warden warden-notrail)" "$(paired small_pull warden warden-notrail)"
  printf '%-14s %16s %16s %20s %20s\n' "window/off" "$(paired big_push warden-window warden-notrail)" "$(paired big_pull warden-window warden-notrail)" \
    "$(paired small_push warden-window warden-notrail)" "$(paired small_pull warden-window warden-notrail)"
fi
