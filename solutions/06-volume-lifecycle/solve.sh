#!/bin/sh
# Reference solution for 06-volume-lifecycle. Runs in the exercise folder.
set -eu

# 1. A labelled volume, found again through its label.
docker volume create --label purpose=practice practice-vol
docker volume ls --filter label=purpose=practice
docker volume inspect --format '{{ .Name }} {{ json .Labels }}' practice-vol

# 2. Remove one volume by name (it fails if a container still uses it).
docker volume rm old-vol

# 3. Prune only what the label selects. Preview first:
docker volume ls --filter label=tier=scratch
# Several --filter label=... must ALL match. The second filter narrows it further to the volumes
# the workbook set up for this exercise; on your own machine `label=tier=scratch` alone is enough.
# Docker 23+ needs -a to include named volumes; Docker 20.10 refuses -a and includes them anyway.
docker volume prune -f -a --filter label=tier=scratch --filter label=workbook.exercise=06-volume-lifecycle 2>/dev/null ||
    docker volume prune -f --filter label=tier=scratch --filter label=workbook.exercise=06-volume-lifecycle

# keep-me is still in use by the stopped container keeper, so prune left it alone.
docker volume ls --filter label=tier=scratch
