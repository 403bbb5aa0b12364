#!/bin/sh
# Shell grader for 03-tmpfs, written the way hosted labs write them: docker CLI calls, one
# self-contained block per step. Grades the same things as exercises/03-tmpfs.
# Usage: sh 03-tmpfs.sh [EXERCISE_DIR]
. "$(dirname "$0")/lib.sh"
cd "${1:-.}" || exit 2

# The tmpfs at DEST in a container: "tmpfs SIZE_BYTES" (SIZE_BYTES empty when unlimited), or the
# type of whatever else is mounted there, or nothing. `--tmpfs` mounts are in .HostConfig.Tmpfs,
# `--mount type=tmpfs` ones in .Mounts with their size in .HostConfig.Mounts.
tmpfs_at() {
    other=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "'"$2"'"}}{{.Type}}{{end}}{{end}}' "$1")
    if [ -n "$other" ] && [ "$other" != tmpfs ]; then
        echo "$other"
        return
    fi
    if [ "$other" = tmpfs ]; then
        size=$(docker inspect -f '{{range .HostConfig.Mounts}}{{if eq .Target "'"$2"'"}}{{if .TmpfsOptions}}{{.TmpfsOptions.SizeBytes}}{{end}}{{end}}{{end}}' "$1")
        [ "$size" = 0 ] && size=""
        echo "tmpfs $size"
        return
    fi
    opts=$(docker inspect -f '{{range $dest, $o := .HostConfig.Tmpfs}}{{if eq $dest "'"$2"'"}}options:{{$o}}{{end}}{{end}}' "$1")
    if [ -n "$opts" ]; then
        size=$(echo "${opts#options:}" | tr ',' '\n' | sed -n 's/^size=//p' | head -n 1)
        echo "tmpfs $(size_bytes "$size")"
    fi
}

step scratch-tmpfs
if ! running scratch; then
    fail "scratch is not running"
else
    # shellcheck disable=SC2046 # split into fields on purpose
    set -- $(tmpfs_at scratch /tmp)
    if [ "$1" = tmpfs ]; then pass; else fail "no tmpfs at /tmp in scratch (${1:-nothing mounted})"; fi
fi

step cache-limit
if ! running cache; then
    fail "cache is not running"
else
    # shellcheck disable=SC2046 # split into fields on purpose
    set -- $(tmpfs_at cache /tmp)
    if [ "$1" != tmpfs ]; then
        fail "no tmpfs at /tmp in cache (${1:-nothing mounted})"
    elif [ "${2:-}" != 1073741824 ]; then
        fail "the tmpfs at /tmp in cache is not limited to 1 GiB (${2:-no limit})"
    else
        pass
    fi
fi

finish
