#!/bin/sh
# workbook/ml-api: serves the models folder over HTTP (port $PORT) and never writes to it,
# so it runs happily on a read-only mount. GET /VERSION tells which model is served.
MODEL_DIR=${MODEL_DIR:-/app/models}
PORT=${PORT:-8080}
version=$(cat "$MODEL_DIR/VERSION" 2>/dev/null || echo none)
echo "serving $MODEL_DIR on port $PORT (model version: $version)"
httpd -f -p "$PORT" -h "$MODEL_DIR" &
pid=$!
trap 'kill $pid 2>/dev/null; exit 0' TERM INT
wait $pid
