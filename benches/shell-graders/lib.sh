# Shared by the shell graders: one line per step, "PASS step" or "FAIL step: why", and an
# exit code (0 every step passes, 1 some step fails), the way hosted labs report.
# Sourced, not run.

FAILED=0
STEP=""

step() { STEP=$1; }
pass() { echo "PASS $STEP"; }
fail() {
    echo "FAIL $STEP: $*"
    FAILED=1
}
finish() { exit "$FAILED"; }

# Whether a volume exists (checked before any `docker run -v NAME:...`, which would create it).
volume_exists() { docker volume inspect "$1" >/dev/null 2>&1; }

# Whether a container exists and is running.
running() { [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

# "TYPE RW SOURCE NAME" of the mount at a destination in a container (empty: nothing there).
mount_at() {
    docker inspect -f '{{range .Mounts}}{{if eq .Destination "'"$2"'"}}{{.Type}} {{.RW}} {{.Source}} {{.Name}}{{end}}{{end}}' "$1" 2>/dev/null
}

# A size as Docker and tmpfs write it (1g, 1024m, 512k, 1073741824, 1GiB) in bytes; empty if unreadable.
size_bytes() {
    echo "$1" | awk '{
        s = tolower($0); n = s; sub(/[^0-9].*$/, "", n); u = substr(s, length(n) + 1)
        if (n == "") exit
        m = 0
        if (u == "" || u == "b") m = 1
        else if (u == "k" || u == "kb" || u == "kib") m = 1024
        else if (u == "m" || u == "mb" || u == "mib") m = 1048576
        else if (u == "g" || u == "gb" || u == "gib") m = 1073741824
        else if (u == "t" || u == "tb" || u == "tib") m = 1099511627776
        if (m) printf "%.0f\n", n * m
    }'
}

# Whether a comma-separated option list ($1) holds an item ($2): `k=v` exactly, or `k=` any value.
has_item() {
    echo "$1" | tr ',' '\n' | awk -v want="$2" '
        { gsub(/^ +| +$/, "") }
        want ~ /=$/ { if (index($0, want) == 1) found = 1; next }
        $0 == want { found = 1 }
        END { exit !found }'
}

# What a folder holds, one sorted line per entry: "d PATH", "l PATH TARGET", "f PATH SHA256".
# The same script runs on the host (for an archive extracted to a temporary folder) and in a
# helper container (for a volume), so the two listings compare line by line.
# shellcheck disable=SC2016 # expanded by the sh that runs it, not here
MANIFEST_SCRIPT='cd "$1" && {
    find . -type d | sed "s/^/d /"
    find . -type l | while read -r p; do echo "l $p $(readlink "$p")"; done
    find . -type f -exec sha256sum {} + | awk "{ print \"f \" \$2 \" \" \$1 }"
} | sort'

# The manifest of a volume, read by a helper container that mounts it read-only.
volume_manifest() {
    docker run --rm -v "$1":/data:ro workbook/tools sh -c "$MANIFEST_SCRIPT" _ /data
}

# The manifest of a .tar.gz, extracted into a temporary folder that is removed afterwards.
archive_manifest() {
    _tmp=$(mktemp -d) || return 1
    if tar xzf "$1" -C "$_tmp" --no-same-owner 2>/dev/null; then
        sh -c "$MANIFEST_SCRIPT" _ "$_tmp"
        _rc=$?
    else
        _rc=1
    fi
    rm -rf "$_tmp"
    return "$_rc"
}
