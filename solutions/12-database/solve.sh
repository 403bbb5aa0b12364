#!/bin/sh
# Reference solution for 12-database. Runs in the exercise folder.
set -eu

# Waits (bounded) until the server in db accepts connections.
wait_ready() {
    i=0
    until docker compose exec -T db pg_isready -q -U postgres -d experiments 2>/dev/null; do
        i=$((i+1)); [ $i -lt 120 ] || { echo "db never accepted connections" >&2; docker compose logs db >&2; exit 1; }
        sleep 0.5
    done
}

# 1. The named volume postgres_data at PostgreSQL's data folder.
cat > compose.yaml <<'YAML'
services:
  db:
    image: workbook/postgres
    environment:
      POSTGRES_PASSWORD: workbook-lab
      POSTGRES_DB: experiments
    volumes:
      - postgres_data:/var/lib/postgresql/data
volumes:
  postgres_data:
YAML
docker compose up -d
wait_ready

# 2. The table and its rows.
docker compose exec -T db psql -q -U postgres -d experiments -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE runs (
    id integer PRIMARY KEY,
    model text NOT NULL,
    accuracy numeric NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO runs (id, model, accuracy) VALUES
    (1, 'baseline', 0.81),
    (2, 'augmented', 0.86),
    (3, 'pretrained', 0.91);
SQL

# 3. A new container on the same volume.
docker compose down
docker compose up -d
wait_ready

# 4. A consistent dump of the running database.
docker compose exec -T db pg_dump -U postgres experiments > backup.sql

# 5. The drill: the volume deleted, made again, the dump loaded into it.
sleep 1
docker compose down -v
docker compose up -d
wait_ready
docker compose exec -T db psql -q -U postgres -d experiments -v ON_ERROR_STOP=1 < backup.sql
docker compose exec -T db psql -U postgres -d experiments -c 'SELECT * FROM runs'
