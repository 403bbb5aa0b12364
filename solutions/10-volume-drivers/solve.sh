#!/bin/sh
# Reference solution for 10-volume-drivers. Runs in the exercise folder.
set -eu
# A volume backed by RAM: the local driver mounts a tmpfs of at most 64 MiB at first use.
# Podman 4.3 refuses the size unless its storage is XFS with project quotas: there the volume
# is made without it, and `workbook check` says the step is not available on that engine.
docker volume create --driver local \
    --opt type=tmpfs --opt device=tmpfs --opt o=size=64m \
    ramdisk ||
    docker volume create --driver local --opt type=tmpfs --opt device=tmpfs ramdisk
# An NFS export. Creating it only records the options: nothing contacts 127.0.0.1 until a
# container mounts the volume, which this exercise never does.
docker volume create --driver local \
    --opt type=nfs --opt o=addr=127.0.0.1,rw,nfsvers=4 --opt device=:/models \
    nfs-models
# A bind-backed volume on the command line: the daemon needs an absolute path.
docker volume create --driver local \
    --opt type=none --opt o=bind --opt device="$(pwd)/fast-ssd/ml-data" \
    fast-data-cli
# Using the RAM and the bind volumes is safe; the NFS one is only inspected.
docker run --rm -v ramdisk:/scratch workbook/tools df -h /scratch
docker run --rm -v fast-data-cli:/data:ro workbook/tools ls /data
docker volume inspect --format '{{ .Name }}: {{ json .Options }}' ramdisk nfs-models fast-data-cli
