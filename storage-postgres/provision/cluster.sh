#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (issue 9): `cluster.sh start DIR PORT`
# installs Debian's `postgresql` if missing, runs initdb as the `postgres` user into DIR
# with trust authentication, and starts it on PORT with its socket in DIR (no TCP
# listener beyond localhost); `cluster.sh stop DIR` stops it and removes DIR. Prints the
# connection URL on start. Idempotent: starting a running cluster prints its URL again.
# TLS is on (issue 15): DIR.tls holds a throwaway CA (ca.crt), the server's certificate
# for `localhost` signed by it, and a second CA that signed nothing (other-ca.crt), all
# made with Debian's openssl, installed if missing. pg_stat_statements is loaded (utility
# statements tracked too) so that the benchmarks count the statements each operation runs.
# For the fault tests (storage-postgres/tests/faults.rs): CLUSTER_OPTIONS adds server
# settings at start (e.g. `-c fsync=on -c max_connections=8`); `cluster.sh restart DIR
# MODE` restarts with pg_ctl's shutdown MODE (fast, immediate); `cluster.sh kill DIR`
# sends SIGKILL to the postmaster and waits for its backends to notice and exit.
set -euo pipefail

action=${1:?usage: cluster.sh start DIR PORT | stop DIR | restart DIR MODE | kill DIR}
dir=${2:?a directory}

bin_dir() {
  if [ -x /usr/lib/postgresql/15/bin/initdb ]; then echo /usr/lib/postgresql/15/bin; return; fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$found" ]; then
    echo "installing Debian's postgresql package" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql > /dev/null
    found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$found"
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A CA, the server's certificate and key (readable by the server alone), another CA.
make_certificates() {
  local tls=$1
  command -v openssl > /dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl > /dev/null
  mkdir -p "$tls"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7)
  openssl req -x509 "${ec[@]}" -subj "/CN=Carespace test CA" -keyout "$tls/ca.key" -out "$tls/ca.crt" 2> /dev/null
  openssl req -x509 "${ec[@]}" -subj "/CN=Another CA" -keyout "$tls/other-ca.key" -out "$tls/other-ca.crt" 2> /dev/null
  openssl req "${ec[@]}" -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr" 2> /dev/null
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 7 \
    -extfile "$tls/server.ext" -out "$tls/server.crt" 2> /dev/null
  chmod 600 "$tls/server.key"
  if [ "$(id -u)" = 0 ]; then chown postgres "$tls/server.key" "$tls/server.crt"; fi
}

case "$action" in
  start)
    port=${3:?a port}
    bin=$(bin_dir)
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres "$dir"
      as_postgres "$bin/initdb" -D "$dir" -A trust -U postgres --no-sync > "$dir.initdb.log" 2>&1 \
        || { cat "$dir.initdb.log" >&2; exit 1; }
      make_certificates "$dir.tls"
    fi
    if ! as_postgres "$bin/pg_ctl" -D "$dir" status > /dev/null 2>&1; then
      as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=localhost -c fsync=off -c max_connections=200 \
            -c ssl=on -c ssl_cert_file=$dir.tls/server.crt -c ssl_key_file=$dir.tls/server.key \
            -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_utility=on \
            ${CLUSTER_OPTIONS:-}" start > /dev/null
    fi
    echo "postgresql://postgres@localhost:$port/postgres"
    ;;
  restart)
    mode=${3:?a shutdown mode: fast or immediate}
    as_postgres "$(bin_dir)/pg_ctl" -D "$dir" -m "$mode" -w -t 60 restart > /dev/null
    ;;
  kill)
    postmaster=$(head -1 "$dir/postmaster.pid")
    backends=$(pgrep -P "$postmaster" || true)
    kill -9 "$postmaster"
    # Orphaned backends exit once they notice the postmaster is gone; the server cannot
    # start again while they hold its shared memory.
    for _ in $(seq 100); do
      alive=0
      for pid in $backends; do kill -0 "$pid" 2> /dev/null && alive=1; done
      [ "$alive" = 0 ] && break
      sleep 0.1
    done
    for pid in $backends; do kill -9 "$pid" 2> /dev/null || true; done
    ;;
  stop)
    bin=$(bin_dir)
    if [ -f "$dir/PG_VERSION" ]; then
      as_postgres "$bin/pg_ctl" -D "$dir" -m fast -w stop > /dev/null 2>&1 || true
    fi
    rm -rf "$dir" "$dir.initdb.log" "$dir.tls"
    ;;
  *) echo "usage: cluster.sh start DIR PORT | stop DIR | restart DIR MODE | kill DIR" >&2; exit 2 ;;
esac
