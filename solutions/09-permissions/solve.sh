#!/bin/sh
# Reference solution for 09-permissions. Runs in the exercise folder.
set -eu
docker volume create app-data
# A fresh volume's root belongs to root (0:0, mode 755): a one-off root helper hands it to uid 1000.
docker run --rm -v app-data:/data workbook/tools chown 1000:1000 /data
# The writer runs as uid 1000, so what it creates belongs to uid 1000. Keep the container (no --rm).
docker run --name writer --user 1000:1000 -v app-data:/data workbook/tools \
    sh -c 'id > /data/result.txt'
# umask 077 takes every permission away from group and others: the key is created 0600.
docker run --rm --user 1000:1000 -v app-data:/data workbook/tools \
    sh -c 'umask 077 && echo "s3cr3t-token" > /data/secret.key'
docker run --rm -v app-data:/data:ro workbook/tools ls -ln /data
