#!/bin/sh
# Reference solution for 11-capstone. Runs in the exercise folder.
set -eu

wait_for() { # wait_for DESCRIPTION COMMAND...: bounded polling, never a long fixed sleep
    what=$1; shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i+1)); [ $i -lt 60 ] || { echo "timed out waiting for $what" >&2; exit 1; }
        sleep 0.5
    done
}

# 1. The whole stack, plus a `backup` helper that only runs when asked (profile `tools`).
cat > compose.yaml <<'YAML'
services:
  trainer:
    image: workbook/ml-training
    environment:
      MODEL_DIR: /app/models
      EPOCHS: "4"
      EPOCH_SECONDS: "1"
    volumes:
      - ./data:/workspace/data:ro
      - checkpoints:/workspace/checkpoints
      - logs:/workspace/logs
      - models:/app/models
  api-1:
    image: workbook/ml-api
    volumes:
      - models:/app/models:ro
  api-2:
    image: workbook/ml-api
    volumes:
      - models:/app/models:ro
  backup:
    image: workbook/tools
    profiles: ["tools"]
    volumes:
      - checkpoints:/data
      - ./backups:/backup
volumes:
  checkpoints:
  logs:
  models:
YAML
docker compose up -d
cid=$(docker compose ps -q trainer)
wait_for "ckpt-2" docker exec "$cid" test -f /workspace/checkpoints/ckpt-2

# 2. A consistent backup: stop the only writer, then archive the volume's root.
docker compose stop trainer
docker compose run --rm backup tar czf /backup/checkpoints.tar.gz -C /data .
tar tzf backups/checkpoints.tar.gz

# 3. The disaster: the trainer's container and its checkpoints volume are gone.
#    Compose named the volume PROJECT_checkpoints; the trainer's mounts name it whatever
#    PROJECT is (on any engine: Podman 4.3 matches several --filter label=... as ANY of them).
vol=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/workspace/checkpoints"}}{{.Name}}{{end}}{{end}}' "$cid")
docker compose rm -f trainer          # the APIs keep serving: they never used checkpoints
docker volume rm "$vol"

#    The recovery: `run` lets Compose create the volume again (with its labels), and the
#    archive is unpacked into it before any trainer starts.
docker compose run --rm backup tar xzf /backup/checkpoints.tar.gz -C /data
docker compose up -d
cid=$(docker compose ps -q trainer)
wait_for "the trainer to resume" docker exec "$cid" sh -c 'grep -q "$(hostname)] resumed" /workspace/logs/train.log'
docker exec "$cid" sh -c 'grep "$(hostname)" /workspace/logs/train.log'
for svc in api-1 api-2; do
    c=$(docker compose ps -q "$svc")
    wait_for "$svc to serve a model" docker exec "$c" wget -qO- http://127.0.0.1:8080/VERSION
done
