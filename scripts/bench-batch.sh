#!/usr/bin/env bash
# The nightly batch benchmark (quality.md), one command:
#
#   scripts/bench-batch.sh DATASET [CONCURRENCY]
#
# DATASET is what `learnlens sources --dataset` takes: synthetic:medium, synthetic:large,
# oulad (../shared/data/oulad, or $LEARNLENS_OULAD_PATH) or oulad:PATH. CONCURRENCY is the
# organisations computed at once (default 1).
#
# It builds the release binary, serves DATASET's five source contracts from a separate
# `learnlens sources` process on loopback, and runs twice against them, each time into a fresh
# PostgreSQL database:
#   1. the floor, `learnlens batch --fetch-only`: the batch's source calls only (every
#      organisation read and parsed, nothing computed or written);
#   2. the batch, `learnlens batch`: read, train, compute every analytic, write.
# Each prints learners/s, statements/s and the process's peak RSS (/usr/bin/time -v); the
# script ends with the batch's throughput as a ratio to the floor's.
#
# With VIA=jobs the batch (2.) runs as the nightly one does, through the queue:
# WORKER_PROCESSES (default 2) `learnlens worker` processes of WORKERS (default 2) job workers
# each take the jobs of one `learnlens jobs batch --as-of`, a large organisation's chunk jobs
# among them. The time is from the enqueue until the batch job is seen finished (polled every
# half second); learners and statements are the floor's (the same data); the peak RSS is each
# worker process's.
#
# CHUNK_USERS sets `jobs.batch_chunk_users` (default 5,000) for both runs.
#
# Environment: LEARNLENS_BENCH_PG (default postgres://postgres@127.0.0.1:5432), the server
# the benchmark's databases are created on and dropped from; AS_OF (default
# 2026-11-26T00:00:00Z for synthetic sets, 2015-07-01T00:00:00Z for OULAD).
set -euo pipefail

dataset="${1:?usage: scripts/bench-batch.sh DATASET [CONCURRENCY]}"
concurrency="${2:-1}"
pg="${LEARNLENS_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
case "$dataset" in
  oulad*) as_of="${AS_OF:-2015-07-01T00:00:00Z}" ;;
  *) as_of="${AS_OF:-2026-11-26T00:00:00Z}" ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release --quiet -p learnlens --bin learnlens
bin="${CARGO_TARGET_DIR:-$root/target}/release/learnlens"

work="$(mktemp -d)"
sources_pid=""
databases=()
cleanup() {
  [[ -n "$sources_pid" ]] && kill "$sources_pid" 2>/dev/null && wait "$sources_pid" 2>/dev/null
  for db in "${databases[@]}"; do psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; done
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
echo "serving $dataset on 127.0.0.1:$port ..."
"$bin" sources --dataset "$dataset" --listen "127.0.0.1:$port" --data-dir "$work/sources" \
  >"$work/sources.log" 2>&1 &
sources_pid=$!
for _ in $(seq 1 600); do
  grep -q "^demo sources" "$work/sources.log" && break
  kill -0 "$sources_pid" 2>/dev/null || { cat "$work/sources.log"; exit 1; }
  sleep 1
done
grep "^demo sources" "$work/sources.log" || { echo "the source server did not start"; exit 1; }

base="http://127.0.0.1:$port"
cat >"$work/config.toml" <<EOF
[sources]
directory_url = "$base/directory"
skills_url = "$base/skills"
catalog_url = "$base/catalog"
assessments_url = "$base/assessments"
deadline_ms = 30000

[sources.activity]
url = "$base/lrs/xAPI/"
timeout_ms = 30000
EOF
if [[ -n "${CHUNK_USERS:-}" ]]; then
  printf '\n[jobs]\nbatch_chunk_users = %s\n' "$CHUNK_USERS" >>"$work/config.toml"
fi

# Runs `learnlens batch ARGS…` into a fresh database; prints its summary line and peak RSS and
# leaves the statements/s figure in $rate.
run() {
  local name="$1"; shift
  local db="learnlens_bench_$$_$name"
  databases+=("$db")
  psql -q "$pg/postgres" -c "CREATE DATABASE $db"
  /usr/bin/time -v "$bin" batch --config "$work/config.toml" --database-url "$pg/$db" \
    --data-dir "$work/$name" --as-of "$as_of" --concurrency "$concurrency" "$@" \
    >"$work/$name.out" 2>"$work/$name.err" || { cat "$work/$name.out" "$work/$name.err"; exit 1; }
  local rss
  summary="$(grep "batch as of" "$work/$name.out")"
  rss="$(awk -F': ' '/Maximum resident set size/ {printf "%.0f MiB", $2/1024}' "$work/$name.err")"
  echo "$name: $summary"
  echo "$name: peak RSS (time -v) $rss"
  rate="$(sed -E 's/.*, ([0-9]+) statements\/s.*/\1/' <<<"$summary")"
}

# Runs the batch through the queue (VIA=jobs) into a fresh database; prints the same figures
# as `run`, with the floor's counts, and leaves the statements/s figure in $rate.
run_jobs() {
  local db="learnlens_bench_$$_jobs" procs="${WORKER_PROCESSES:-2}" workers="${WORKERS:-2}"
  databases+=("$db")
  psql -q "$pg/postgres" -c "CREATE DATABASE $db"
  cp "$work/config.toml" "$work/jobs.toml"
  [[ -n "${CHUNK_USERS:-}" ]] || printf '\n[jobs]\n' >>"$work/jobs.toml"
  printf 'workers = %s\nnightly_batch_cron = ""\n' "$workers" >>"$work/jobs.toml"
  "$bin" migrate --config "$work/jobs.toml" --database-url "$pg/$db" --data-dir "$work/jobs" \
    >/dev/null
  local timers=() i
  for i in $(seq 1 "$procs"); do
    /usr/bin/time -v "$bin" worker --config "$work/jobs.toml" --database-url "$pg/$db" \
      --data-dir "$work/jobs-$i" >"$work/worker-$i.out" 2>"$work/worker-$i.err" &
    timers+=("$!")
  done
  for i in $(seq 1 "$procs"); do
    for _ in $(seq 1 60); do grep -q "workers on the" "$work/worker-$i.out" && break; sleep 1; done
    grep -q "workers on the" "$work/worker-$i.out" || { cat "$work/worker-$i.err"; exit 1; }
  done
  local started id status secs
  started="$(date +%s.%N)"
  id="$("$bin" jobs batch --as-of "$as_of" --config "$work/jobs.toml" --database-url "$pg/$db" \
    --data-dir "$work/jobs")"
  while :; do
    status="$(psql -tA "$pg/$db" -c "SELECT status FROM jobs WHERE id = '$id'")"
    case "$status" in completed|failed|cancelled) break ;; esac
    sleep 0.5
  done
  secs="$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")"
  for t in "${timers[@]}"; do pkill -TERM -P "$t" || true; wait "$t" || true; done
  echo "jobs: the batch job $id $status in $secs s"
  psql -tA "$pg/$db" -c "SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status ORDER BY kind"
  [[ "$status" == completed ]] || exit 1
  for i in $(seq 1 "$procs"); do
    echo "jobs: worker process $i peak RSS (time -v) $(awk -F': ' '/Maximum resident set size/ {printf "%.0f MiB", $2/1024}' "$work/worker-$i.err")"
  done
  # What the chunked runs kept in the store: each split's records, each chunk's digests.
  local logs="$work/workers.log"
  cat "$work"/worker-*.out "$work"/worker-*.err | sed 's/\x1b\[[0-9;]*m//g' >"$logs"
  grep -ho 'records_bytes=[0-9]*' "$logs" | sort -t= -k2 -n | tail -3 | sed 's/^/jobs: largest: /' || true
  grep -ho 'digest_bytes=[0-9]*' "$logs" | sort -t= -k2 -n | tail -1 | sed 's/^/jobs: largest: /' || true
  read -r learners statements < <(sed -E 's/.*: ([0-9]+) learners, ([0-9]+) statements.*/\1 \2/' <<<"$floor_summary")
  rate="$(python3 -c "print(round($statements / $secs))")"
  echo "jobs: $learners learners, $statements statements in $secs s ($(python3 -c "print(round($learners / $secs))") learners/s, $rate statements/s) on $procs processes of $workers workers"
}

run floor --fetch-only
floor="$rate"
floor_summary="$summary"
if [[ "${VIA:-}" == jobs ]]; then
  run_jobs
else
  run batch
fi
echo "batch over $dataset, concurrency $concurrency: $rate statements/s against a floor of $floor: ratio $(python3 -c "print(f'{$rate / max($floor, 1):.2f}')")"
