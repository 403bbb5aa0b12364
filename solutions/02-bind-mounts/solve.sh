#!/bin/sh
# Reference solution for 02-bind-mounts. Runs in the exercise folder.
set -eu
docker run -d --name trainer -v "$(pwd)/data:/app/data" workbook/ml-training
docker run -d --name api -v "$(pwd)/models:/app/models:ro" workbook/ml-api
docker exec trainer sh -c 'hostname > /app/data/from-container.txt'
cat data/from-container.txt
