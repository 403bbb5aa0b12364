#!/bin/sh
# Shell grader for 09-permissions, written the way hosted labs write them: docker inspect and a
# helper container per file read, one self-contained block per step. Grades the same things as
# exercises/09-permissions.
# Usage: sh 09-permissions.sh [EXERCISE_DIR]
. "$(dirname "$0")/lib.sh"
cd "${1:-.}" || exit 2

step own-volume
if ! volume_exists app-data; then
    fail "no volume app-data"
else
    got=$(docker run --rm -v app-data:/data:ro workbook/tools stat -c '%u %g' /data)
    if [ "$got" = "1000 1000" ]; then pass; else fail "the root of app-data is owned by $got, not 1000 1000"; fi
fi

step write-as-user
user=$(docker inspect -f '{{.Config.User}}' writer 2>/dev/null)
if ! docker inspect writer >/dev/null 2>&1; then
    fail "no container writer"
elif [ "${user%%:*}" != 1000 ]; then
    fail "writer runs as '${user:-root}', not uid 1000"
else
    # shellcheck disable=SC2046 # split into fields on purpose
    set -- $(mount_at writer /data)
    if [ "$1" != volume ] || [ "$4" != app-data ]; then
        fail "/data in writer is not the volume app-data (${1:-nothing mounted} ${4:-})"
    elif ! volume_exists app-data; then
        fail "no volume app-data"
    else
        got=$(docker run --rm -v app-data:/data:ro workbook/tools sh -c 'test -f /data/result.txt && stat -c %u /data/result.txt')
        if [ "$got" = 1000 ]; then pass; else fail "result.txt in app-data is not a file owned by uid 1000 (${got:-missing})"; fi
    fi
fi

step secret-key
if ! volume_exists app-data; then
    fail "no volume app-data"
else
    got=$(docker run --rm -v app-data:/data:ro workbook/tools sh -c 'test -f /data/secret.key && stat -c "%u %a" /data/secret.key')
    if [ "$got" = "1000 600" ]; then pass; else fail "secret.key in app-data is not uid 1000 with mode 0600 (${got:-missing})"; fi
fi

finish
