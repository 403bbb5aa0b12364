#!/bin/sh
# workbook/postgres, built offline from a PostgreSQL installed on the host: the entrypoint
# behaves like the official image's for what the lessons use.
# - Started as root, it gives $PGDATA to the `postgres` user (uid 999) and runs the server as
#   that user, never as root. Started as another user (`user:`), that user must own $PGDATA.
# - An empty $PGDATA is initialised once: superuser $POSTGRES_USER (default postgres) with
#   $POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), database $POSTGRES_DB
#   (default: the user's name), then /docker-entrypoint-initdb.d/*.sql and *.sh. Connections
#   over the local socket are trusted (`docker compose exec db psql -U postgres`); over TCP they
#   need the password.
# - A folder that already holds a database is used as it is: nothing is initialised again.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

if [ "${1#-}" != "$1" ]; then
    set -- postgres "$@"
fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    # A folder the container cannot take (a bind mount of a share that refuses chown) fails
    # here, in the log, with the reason.
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    chmod 700 "$PGDATA"
    mkdir -p /var/run/postgresql
    chown postgres:postgres /var/run/postgresql
    chmod 3777 /var/run/postgresql
    exec su postgres -s /bin/sh -c 'exec "$0" "$@"' -- "$0" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
        cat >&2 <<'EOF'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run",
       or `environment: POSTGRES_PASSWORD: ...` under the service in compose.yaml.
EOF
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
    # shellcheck disable=SC2086
    initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host="$auth" \
        --locale=C --encoding=UTF8 ${POSTGRES_INITDB_ARGS:-}
    rm -f "$pwfile"
    printf "listen_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
    printf 'host all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"

    # The set-up server listens on a socket of its own only: nobody connects before it is done
    # (`pg_isready` in the usual socket answers only once the real server runs).
    PGHOST=$(mktemp -d)
    export PGHOST
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=$PGHOST" -w start
    if [ "$db" != postgres ]; then
        psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres \
            -c "CREATE DATABASE \"$db\""
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 --username "$user" --dbname "$db" -f "$f" ;;
            *.sh) echo "running $f"; . "$f" ;;
            *) if [ -e "$f" ]; then echo "ignoring $f"; fi ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    rmdir "$PGHOST" 2>/dev/null || true
    unset PGHOST
    echo
    echo "PostgreSQL init process complete; ready for start up."
    echo
fi

exec "$@"
