#!/usr/bin/env bash
# Starts the project's Redis (append-only file under the data dir) unless one answers.
set -euo pipefail
umask 077  # the append-only file holds rate-limit and sender state: owner only
dir=${1:?data dir}; port=${2:-6379}
redis-cli -p "$port" ping >/dev/null 2>&1 && exit 0
mkdir -p "$dir/redis"
redis-server --port "$port" --bind 127.0.0.1 --dir "$(cd "$dir/redis" && pwd)" \
  --appendonly yes --daemonize yes --logfile redis.log --pidfile "$(cd "$dir/redis" && pwd)/redis.pid"
for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && exit 0; sleep 0.1; done
echo "redis-up: Redis did not answer on port $port" >&2; exit 1
