#!/bin/sh
# Shell grader for 01-named-volumes, written the way hosted labs write them: docker CLI calls,
# one self-contained block per step. Grades the same things as exercises/01-named-volumes.
# Usage: sh 01-named-volumes.sh [EXERCISE_DIR]
. "$(dirname "$0")/lib.sh"
cd "${1:-.}" || exit 2

step create-volume
if [ "$(docker volume inspect -f '{{.Driver}}' ml-data 2>/dev/null)" = local ]; then
    pass
else
    fail "no volume ml-data with the local driver"
fi

step write-file
if ! volume_exists ml-data; then
    fail "no volume ml-data"
elif docker run --rm -v ml-data:/data:ro workbook/tools cat /data/hello.txt 2>/dev/null | grep -q persisted; then
    pass
else
    fail "hello.txt in ml-data does not contain persisted"
fi

step outlives-container
if ! volume_exists ml-data; then
    fail "no volume ml-data: it was removed"
elif [ -n "$(docker ps -aq --filter volume=ml-data)" ]; then
    fail "containers still use ml-data: $(docker ps -a --filter volume=ml-data --format '{{.Names}}' | tr '\n' ' ')"
elif docker run --rm -v ml-data:/data:ro workbook/tools cat /data/hello.txt 2>/dev/null | grep -q persisted; then
    pass
else
    fail "hello.txt in ml-data does not contain persisted"
fi

finish
