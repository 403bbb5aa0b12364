#!/bin/sh
# Reference solution for 05-shared-models. Runs in the exercise folder.
set -eu

# One writer (the trainer, read-write) and two readers (the APIs, read-only) of one volume.
cat > compose.yaml <<'YAML'
services:
  trainer:
    image: workbook/ml-training
    environment:
      MODEL_DIR: /app/models
      EPOCHS: "3"
      EPOCH_SECONDS: "1"
    volumes:
      - models:/app/models
  api-1:
    image: workbook/ml-api
    volumes:
      - models:/app/models:ro
  api-2:
    image: workbook/ml-api
    volumes:
      - models:/app/models:ro
volumes:
  models:
YAML
docker compose up -d

# Wait (bounded) until the trainer has published a model that both APIs can serve.
for svc in api-1 api-2; do
    cid=$(docker compose ps -q "$svc")
    i=0
    until docker exec "$cid" wget -qO- http://127.0.0.1:8080/VERSION >/dev/null 2>&1; do
        i=$((i+1)); [ $i -lt 60 ] || { echo "timed out waiting for $svc to serve a model" >&2; exit 1; }
        sleep 0.5
    done
    printf '%s serves ' "$svc"
    docker exec "$cid" wget -qO- http://127.0.0.1:8080/VERSION
done
