#!/bin/sh
# Reference solution for 01-named-volumes. Runs in the exercise folder.
set -eu
docker volume create ml-data
docker run --rm -v ml-data:/app/data workbook/tools sh -c 'echo persisted > /app/data/hello.txt'
# --rm removed the container; the volume and hello.txt stay.
docker run --rm -v ml-data:/app/data:ro workbook/tools cat /app/data/hello.txt
