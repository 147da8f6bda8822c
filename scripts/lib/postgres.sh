# A throwaway PostgreSQL 15 server for tests and benchmarks, installed when missing.
#
#   . scripts/lib/postgres.sh
#   throwaway_postgres        # starts it; stops and removes it when the shell exits
#
# Exports ZKP_PG_URL (postgres://postgres@127.0.0.1:PORT/postgres) and ZKP_PG_CTL, a
# script taking `stop` or `start` that stops the server (as a crash would: immediate
# mode) or starts it again on the same port, for fault tests.

throwaway_postgres() {
  local pg_bin=/usr/lib/postgresql/15/bin
  if [ ! -x "$pg_bin/initdb" ]; then
    printf '==> installing PostgreSQL 15\n' >&2
    local apt=(apt-get)
    [ "$(id -u)" -eq 0 ] || apt=(sudo apt-get)
    "${apt[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq postgresql-15 >/dev/null
  fi
  ZKP_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/zkp-pg.XXXXXX")
  local run=""
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$ZKP_PG_DIR"
    run="runuser -u postgres --"
  fi
  $run "$pg_bin/initdb" -D "$ZKP_PG_DIR/data" -U postgres -A trust -E UTF8 >/dev/null
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # fsync=off: this database holds nothing worth keeping, and tests run faster.
  cat >"$ZKP_PG_DIR/ctl" <<CTL
#!/usr/bin/env bash
set -euo pipefail
case "\$1" in
  stop) $run "$pg_bin/pg_ctl" -D "$ZKP_PG_DIR/data" -m immediate -w stop >/dev/null ;;
  start) $run "$pg_bin/pg_ctl" -D "$ZKP_PG_DIR/data" -l "$ZKP_PG_DIR/server.log" -w -t 60 \\
    -o "-p $port -k $ZKP_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
CTL
  chmod 755 "$ZKP_PG_DIR/ctl"
  "$ZKP_PG_DIR/ctl" start
  export ZKP_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export ZKP_PG_CTL="$ZKP_PG_DIR/ctl"
  trap '"$ZKP_PG_CTL" stop >/dev/null 2>&1 || true; rm -rf "$ZKP_PG_DIR"' EXIT
  printf '==> PostgreSQL on 127.0.0.1:%s\n' "$port" >&2
}
