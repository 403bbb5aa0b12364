#!/bin/sh
# Reference solution for 08-performance. Runs in the exercise folder.
set -eu
# Both Compose versions turn a relative `device` into an absolute path when the volume uses the
# local driver with `o: bind`; the daemon itself would not (it has no idea of your folder).
cat > compose.yaml <<'EOF'
services:
  training:
    image: workbook/ml-training
    environment:
      EPOCHS: "3"
    volumes:
      - fast-data:/workspace/data
    tmpfs:
      - /workspace/cache:size=256m

volumes:
  fast-data:
    driver: local
    driver_opts:
      type: none
      o: bind
      device: ./fast-ssd/ml-data
EOF
docker compose up -d
docker volume ls --filter label=com.docker.compose.volume=fast-data
