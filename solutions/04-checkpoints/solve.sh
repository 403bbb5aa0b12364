#!/bin/sh
# Reference solution for 04-checkpoints. Runs in the exercise folder.
set -eu

# 1. The finished compose.yaml: read-only data, two named volumes, an anonymous cache.
cat > compose.yaml <<'YAML'
services:
  trainer:
    image: workbook/ml-training
    environment:
      EPOCHS: "5"
      EPOCH_SECONDS: "1"
    volumes:
      - ./data:/workspace/data:ro
      - checkpoints:/workspace/checkpoints
      - logs:/workspace/logs
      - /tmp/cache
volumes:
  checkpoints:
  logs:
YAML
docker compose up -d

# 2. Wait (bounded) until the trainer has written two checkpoints.
cid=$(docker compose ps -q trainer)
i=0
until docker exec "$cid" test -f /workspace/checkpoints/ckpt-2; do
    i=$((i+1)); [ $i -lt 60 ] || { echo "timed out waiting for ckpt-2" >&2; exit 1; }
    sleep 0.5
done
docker exec "$cid" ls /workspace/checkpoints

# 3. Down (named volumes kept) and up again. `down` alone would leave the anonymous
#    /tmp/cache volume behind, dangling; `rm -sfv` first removes the container together
#    with its anonymous volume (it never removes named volumes).
docker compose rm -sfv trainer
docker compose down
docker compose up -d
cid=$(docker compose ps -q trainer)
i=0
until docker exec "$cid" grep -q 'resumed from checkpoint' /workspace/logs/train.log; do
    i=$((i+1)); [ $i -lt 60 ] || { echo "timed out waiting for the trainer to resume" >&2; exit 1; }
    sleep 0.5
done
docker exec "$cid" cat /workspace/logs/train.log
