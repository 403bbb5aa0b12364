#!/bin/sh
# Reference solution for 03-tmpfs.
set -eu
docker run -d --name scratch --tmpfs /tmp workbook/tools sleep infinity
docker run -d --name cache --tmpfs /tmp:size=1g workbook/tools sleep infinity
