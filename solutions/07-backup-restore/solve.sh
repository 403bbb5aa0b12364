#!/bin/sh
# Reference solution for 07-backup-restore. Runs in the exercise folder.
set -eu

# 1. Backup: a helper container sees the volume at /data (read-only is enough) and this folder
#    at /backup. `-C /data .` stores the volume's contents at the archive root.
docker run --rm -v ml-data:/data:ro -v "$(pwd)":/backup workbook/tools \
    tar czf /backup/ml-data-backup.tar.gz -C /data .
# Verify without extracting anything on the host.
tar tzf ml-data-backup.tar.gz

# 2. Restore into a new volume (docker run creates it): extract at the mount point.
docker run --rm -v ml-data-restored:/data -v "$(pwd)":/backup:ro workbook/tools \
    tar xzf /backup/ml-data-backup.tar.gz -C /data

# 3. Disaster drill: the original volume is lost, then rebuilt from the backup.
docker volume rm ml-data
docker volume create ml-data
docker run --rm -v ml-data:/data -v "$(pwd)":/backup:ro workbook/tools \
    tar xzf /backup/ml-data-backup.tar.gz -C /data
docker run --rm -v ml-data:/data:ro workbook/tools find /data
