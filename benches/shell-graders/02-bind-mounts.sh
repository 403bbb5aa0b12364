#!/bin/sh
# Shell grader for 02-bind-mounts, written the way hosted labs write them: docker CLI calls,
# one self-contained block per step. Grades the same things as exercises/02-bind-mounts.
# Usage: sh 02-bind-mounts.sh [EXERCISE_DIR]
. "$(dirname "$0")/lib.sh"
cd "${1:-.}" || exit 2

step bind-data
if ! running trainer; then
    fail "trainer is not running"
else
    # shellcheck disable=SC2046 # split into fields on purpose
    set -- $(mount_at trainer /app/data)
    if [ "$1" != bind ]; then
        fail "/app/data in trainer is not a bind mount (${1:-nothing mounted})"
    elif [ "$(readlink -f "$3")" != "$(readlink -f data)" ]; then
        fail "/app/data in trainer is a bind mount of $3, not of ./data"
    elif [ "$2" != true ]; then
        fail "/app/data in trainer is read-only"
    else
        pass
    fi
fi

step ro-models
if ! running api; then
    fail "api is not running"
else
    # shellcheck disable=SC2046 # split into fields on purpose
    set -- $(mount_at api /app/models)
    if [ "$1" != bind ]; then
        fail "/app/models in api is not a bind mount (${1:-nothing mounted})"
    elif [ "$(readlink -f "$3")" != "$(readlink -f models)" ]; then
        fail "/app/models in api is a bind mount of $3, not of ./models"
    elif [ "$2" != false ]; then
        fail "/app/models in api is read-write"
    else
        pass
    fi
fi

step write-through
hostname=$(docker inspect -f '{{.Config.Hostname}}' trainer 2>/dev/null)
if [ ! -f data/from-container.txt ]; then
    fail "data/from-container.txt does not exist"
elif [ -z "$hostname" ] || ! grep -qF "$hostname" data/from-container.txt; then
    fail "data/from-container.txt does not hold the hostname of trainer"
else
    pass
fi

finish
