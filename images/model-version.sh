#!/bin/sh
# Prints the model version a workbook/ml-api container serves (reads $MODEL_DIR/VERSION).
cat "${MODEL_DIR:-/app/models}/VERSION" 2>/dev/null || { echo "no model published in ${MODEL_DIR:-/app/models}" >&2; exit 1; }
