#!/usr/bin/env bash
# Runs a command with CARESPACE_PG_URL pointing at PostgreSQL: the URL already set, or
# else a throwaway cluster (cluster.sh) in a temporary directory on a private port,
# stopped and removed afterwards whatever the command does. Its exit status is the
# command's. For the TLS tests it also sets CARESPACE_PG_TLS_PORT (the server's TCP port
# on localhost) and CARESPACE_PG_TLS_DIR (ca.crt, which signed the server's certificate,
# and other-ca.crt, which did not); with a CARESPACE_PG_URL of your own, set those too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${CARESPACE_PG_URL:-}" ]; then
  exec "$@"
fi
dir=$(mktemp -d /tmp/carespace-pg.XXXXXX)
chmod 755 "$dir"
port=$((20000 + $$ % 10000))
trap '"$here/cluster.sh" stop "$dir/data"; rm -rf "$dir"' EXIT
"$here/cluster.sh" start "$dir/data" "$port" > /dev/null
echo "PostgreSQL: a throwaway cluster in $dir on port $port (fsync off)" >&2
export CARESPACE_PG_URL="host=$dir/data port=$port user=postgres dbname=postgres"
export CARESPACE_PG_TLS_PORT=$port CARESPACE_PG_TLS_DIR=$dir/data.tls
"$@"
