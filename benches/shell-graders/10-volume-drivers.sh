#!/bin/sh
# Shell grader for 10-volume-drivers, written the way hosted labs write them: docker volume
# inspect and a helper container for the one file read, one self-contained block per step.
# Grades the same things as exercises/10-volume-drivers.
# Usage: sh 10-volume-drivers.sh [EXERCISE_DIR]
. "$(dirname "$0")/lib.sh"
cd "${1:-.}" || exit 2

opt() { docker volume inspect -f '{{index .Options "'"$2"'"}}' "$1" 2>/dev/null; }
driver() { docker volume inspect -f '{{.Driver}}' "$1" 2>/dev/null; }

step ramdisk
if [ "$(driver ramdisk)" != local ]; then
    fail "no volume ramdisk with the local driver"
elif [ "$(opt ramdisk type)" != tmpfs ] || [ "$(opt ramdisk device)" != tmpfs ]; then
    fail "ramdisk needs type=tmpfs and device=tmpfs"
elif ! has_item "$(opt ramdisk o)" size=64m; then
    fail "ramdisk needs size=64m in its o option"
else
    pass
fi

step nfs-models
if [ "$(driver nfs-models)" != local ]; then
    fail "no volume nfs-models with the local driver"
elif [ "$(opt nfs-models type)" != nfs ]; then
    fail "nfs-models needs type=nfs"
elif ! has_item "$(opt nfs-models o)" addr=; then
    fail "nfs-models needs addr=... in its o option"
else
    case "$(opt nfs-models device)" in
        :/*) pass ;;
        *) fail "nfs-models needs a device starting with :/" ;;
    esac
fi

step fast-data-cli
device=$(opt fast-data-cli device)
if [ "$(driver fast-data-cli)" != local ]; then
    fail "no volume fast-data-cli with the local driver"
elif [ "$(opt fast-data-cli type)" != none ] || ! has_item "$(opt fast-data-cli o)" bind; then
    fail "fast-data-cli needs type=none and o=bind"
else
    case "$device" in
        /*) case "$(readlink -f "$device")/" in
                "$(pwd -P)"/*)
                    if docker run --rm -v fast-data-cli:/data:ro workbook/tools test -f /data/train.csv 2>/dev/null; then
                        pass
                    else
                        fail "train.csv is not a file in fast-data-cli (or it cannot be mounted)"
                    fi ;;
                *) fail "the device of fast-data-cli is not inside this exercise folder" ;;
            esac ;;
        *) fail "the device of fast-data-cli is not an absolute path" ;;
    esac
fi

finish
