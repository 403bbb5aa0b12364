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
# The prune selects by tier=scratch alone. Before it runs, make sure that label selects only the
# volumes the workbook set up for this exercise: on your own machine, another volume labelled
# tier=scratch would be pruned too. (Two --filter label=... would have to match together on
# Docker, but Podman 4.3 takes a volume matching either, so they cannot narrow it on every engine.)
ours=" $(docker volume ls -q --filter label=workbook.exercise=06-volume-lifecycle | tr '\n' ' ') "
for v in $(docker volume ls -q --filter label=tier=scratch); do
    case "$ours" in
    *" $v "*) ;;
    *) echo "volume $v is labelled tier=scratch but is not this exercise's: not pruning" >&2; exit 1 ;;
    esac
done
# Docker 23+ needs -a to include named volumes; Docker 20.10 refuses -a and includes them anyway.
docker volume prune -f -a --filter label=tier=scratch 2>/dev/null ||
    docker volume prune -f --filter label=tier=scratch

# keep-me is still in use by the stopped container keeper, so prune left it alone.
docker volume ls --filter label=tier=scratch
