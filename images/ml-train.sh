#!/bin/sh
# workbook/ml-training: a toy trainer. Every epoch it writes a checkpoint `ckpt-N` into
# $CHECKPOINT_DIR and a line into $LOG_DIR/train.log. On start it resumes from the newest
# checkpoint. After its epochs it publishes a model into $MODEL_DIR (when set, else into
# /app/models when a volume is mounted there) and idles.
CHECKPOINT_DIR=${CHECKPOINT_DIR:-/workspace/checkpoints}
LOG_DIR=${LOG_DIR:-/workspace/logs}
DATA_DIR=${DATA_DIR:-/workspace/data}
EPOCHS=${EPOCHS:-5}
EPOCH_SECONDS=${EPOCH_SECONDS:-1}
MODEL_DIR=${MODEL_DIR:-}
# The guide's compose mounts the models volume at /app/models and sets no MODEL_DIR: publish
# there when that folder is a mount (a volume or a bind), so the guide's file works as printed.
if [ -z "$MODEL_DIR" ] && grep -q " /app/models " /proc/mounts 2>/dev/null; then
    MODEL_DIR=/app/models
fi

mkdir -p "$CHECKPOINT_DIR" "$LOG_DIR" || { echo "cannot create $CHECKPOINT_DIR or $LOG_DIR (read-only? wrong owner?)" >&2; exit 1; }
LOG="$LOG_DIR/train.log"
log() {
    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) [$(hostname)] $*"
    echo "$line"
    echo "$line" >> "$LOG"
}
trap 'log "stopping: signal received"; exit 0' TERM INT

last=0
for f in "$CHECKPOINT_DIR"/ckpt-*; do
    [ -f "$f" ] || continue
    n=${f##*/ckpt-}
    case "$n" in ''|*[!0-9]*) continue ;; esac
    [ "$n" -gt "$last" ] && last=$n
done
samples=0
[ -d "$DATA_DIR" ] && samples=$(find "$DATA_DIR" -type f | wc -l)
if [ "$last" -gt 0 ]; then
    log "resumed from checkpoint ckpt-$last (epoch $last); continuing at epoch $((last + 1))"
else
    log "no checkpoint in $CHECKPOINT_DIR: starting from epoch 1 ($samples data files in $DATA_DIR)"
fi

epoch=$((last + 1))
while [ "$epoch" -le "$EPOCHS" ]; do
    sleep "$EPOCH_SECONDS" & wait $!
    loss=$(awk -v e="$epoch" 'BEGIN { printf "%.4f", 1 / (e + 1) }')
    tmp="$CHECKPOINT_DIR/.ckpt-$epoch.tmp"
    printf 'epoch=%s\nloss=%s\nsamples=%s\n' "$epoch" "$loss" "$samples" > "$tmp" && mv "$tmp" "$CHECKPOINT_DIR/ckpt-$epoch"
    log "epoch $epoch/$EPOCHS done: loss $loss, wrote checkpoint ckpt-$epoch"
    epoch=$((epoch + 1))
done

if [ -n "$MODEL_DIR" ]; then
    version="v$EPOCHS"
    mkdir -p "$MODEL_DIR"
    cp "$CHECKPOINT_DIR/ckpt-$EPOCHS" "$MODEL_DIR/model-$version.bin" 2>/dev/null || echo "weights $version" > "$MODEL_DIR/model-$version.bin"
    echo "$version" > "$MODEL_DIR/.VERSION.tmp" && mv "$MODEL_DIR/.VERSION.tmp" "$MODEL_DIR/VERSION"
    log "published model $version to $MODEL_DIR"
fi
log "training complete at epoch $EPOCHS; idling (docker stop to end)"
while :; do sleep 3600 & wait $!; done
