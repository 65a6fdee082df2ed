# Throw-away services for the tests of the PostgreSQL store and of object-storage publishing,
# on loopback only: a PostgreSQL server (initdb in a temporary directory, run by a dedicated
# user because PostgreSQL refuses to run as root) and an S3-compatible server (moto's server
# mode, from PyPI, in the virtual environment `$venv`).
#
# Sourced by .ci/run; a developer can source it too:
#   venv=~/.cache/kpledger-interop-venv; . .ci/services.sh; kp_services_start
#   cargo test --test e2e backends        # the tests read the variables exported below
#   kp_services_stop
#
# Exports KPLEDGER_TEST_PG_URL (postgres://USER:PASSWORD@127.0.0.1:PORT/postgres: a superuser
# that may create one database per test) and KPLEDGER_TEST_S3_URL (http://127.0.0.1:PORT; any
# access key and secret are accepted, each test makes its own bucket).

kp_free_port() {
  "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

kp_pg_bindir() {
  local b
  b=$(command -v initdb 2>/dev/null || true)
  if [ -z "$b" ]; then
    b=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  if [ -z "$b" ] && [ "$(id -u)" = 0 ]; then
    apt-get update >&2 && apt-get install -y postgresql >&2
    b=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  [ -n "$b" ] || { echo "PostgreSQL's initdb was not found; install PostgreSQL 15 (apt-get install postgresql)" >&2; return 1; }
  dirname "$(readlink -f "$b")"
}

# Runs a command as the user that owns the server's files: a dedicated system user when we are
# root, ourselves otherwise.
kp_pg_as() {
  if [ "$(id -u)" = 0 ]; then runuser -u kpledger-pg -- "$@"; else "$@"; fi
}

kp_pg_start() {
  local bindir port pw
  bindir=$(kp_pg_bindir) || return 1
  KP_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kpledger-pg.XXXXXX")
  if [ "$(id -u)" = 0 ]; then
    id -u kpledger-pg >/dev/null 2>&1 ||
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin kpledger-pg
    chown kpledger-pg "$KP_PG_DIR"
  fi
  chmod 700 "$KP_PG_DIR"
  pw=$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')
  printf '%s\n' "$pw" >"$KP_PG_DIR/pw"
  [ "$(id -u)" = 0 ] && chown kpledger-pg "$KP_PG_DIR/pw"
  kp_pg_as "$bindir/initdb" -D "$KP_PG_DIR/data" -U kpledger --pwfile="$KP_PG_DIR/pw" \
    --auth=scram-sha-256 -E UTF8 --no-locale >"$KP_PG_DIR/initdb.log" 2>&1 ||
    { cat "$KP_PG_DIR/initdb.log" >&2; return 1; }
  rm -f "$KP_PG_DIR/pw"
  port=$(kp_free_port)
  # Durable as in production (fsync, full_page_writes, synchronous_commit on: the defaults, said here anyway, in
  # the configuration file rather than on the command line, so that a test can change them with
  # ALTER SYSTEM as a server's superuser could); listening on loopback only, its socket in the
  # temporary directory.
  printf 'fsync = on\nfull_page_writes = on\nsynchronous_commit = on\n' | kp_pg_as tee -a "$KP_PG_DIR/data/postgresql.conf" >/dev/null
  kp_pg_as "$bindir/pg_ctl" -D "$KP_PG_DIR/data" -l "$KP_PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$KP_PG_DIR -c max_connections=200" \
    start >/dev/null || { cat "$KP_PG_DIR/server.log" >&2; return 1; }
  KP_PG_BINDIR=$bindir
  export KPLEDGER_TEST_PG_URL="postgres://kpledger:$pw@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $KP_PG_DIR)" >&2
}

kp_pg_stop() {
  [ -n "${KP_PG_DIR:-}" ] || return 0
  kp_pg_as "$KP_PG_BINDIR/pg_ctl" -D "$KP_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$KP_PG_DIR"
  unset KP_PG_DIR KPLEDGER_TEST_PG_URL
}

kp_s3_start() {
  local port i
  if [ ! -x "$venv/bin/moto_server" ]; then
    "$venv/bin/pip" install --quiet 'moto[server]==5.2.5' || return 1
  fi
  port=$(kp_free_port)
  KP_S3_LOG=$(mktemp "${TMPDIR:-/tmp}/kpledger-s3.XXXXXX")
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$KP_S3_LOG" 2>&1 &
  KP_S3_PID=$!
  for i in $(seq 1 150); do
    if "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
      export KPLEDGER_TEST_S3_URL="http://127.0.0.1:$port"
      echo "S3-compatible server (moto) on 127.0.0.1:$port" >&2
      return 0
    fi
    kill -0 "$KP_S3_PID" 2>/dev/null || break
    sleep 0.2
  done
  cat "$KP_S3_LOG" >&2
  echo "the S3-compatible server (moto_server) did not start" >&2
  return 1
}

kp_s3_stop() {
  [ -n "${KP_S3_PID:-}" ] || return 0
  kill "$KP_S3_PID" 2>/dev/null || true
  wait "$KP_S3_PID" 2>/dev/null || true
  rm -f "$KP_S3_LOG"
  unset KP_S3_PID KPLEDGER_TEST_S3_URL
}

kp_services_start() {
  kp_pg_start && kp_s3_start
}

kp_services_stop() {
  kp_s3_stop
  kp_pg_stop
}
