#!/usr/bin/env bash
# Everything `make test` runs: Debian services on loopback, lint, types, and pytest on
# SQLite then again on PostgreSQL. Services started here are stopped here, by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
STATE=var/test-services
mkdir -p "$STATE" var/test-artifacts

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# Word lists: the default model's test counts the dictionary words it writes.
[ -f /usr/share/dict/american-english ] || need+=(wamerican)
[ -f /usr/share/dict/british-english ] || need+=(wbritish)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
PG_DIR=$(mktemp -d /tmp/rankwise-pg.XXXXXX)
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
chown postgres:postgres "$PG_DIR"

stop_services() {
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
  if [ -f "$STATE/redis.pid" ]; then kill "$(cat "$STATE/redis.pid")" 2>/dev/null || true; fi
  rm -rf "$PG_DIR"
}
trap stop_services EXIT

runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w start \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off" >/dev/null
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save "" \
  --appendonly no --pidfile "$PWD/$STATE/redis.pid" --logfile "$PWD/$STATE/redis.log"

export RANKWISE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/rankwise"
export RANKWISE_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export RANKWISE_VAR_DIR="$PWD/var/test-var"
rm -rf "$RANKWISE_VAR_DIR" && mkdir -p "$RANKWISE_VAR_DIR"

echo "== lint and types"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy" annotate training config

echo "== pytest on SQLite (every test)"
"$VENV/bin/pytest" -p no:cacheprovider

echo "== pytest on PostgreSQL (tests marked postgres)"
DATABASE_URL="$RANKWISE_TEST_POSTGRES_URL" RANKWISE_EXPECT_DB_VENDOR=postgresql \
  "$VENV/bin/pytest" -p no:cacheprovider -m postgres
