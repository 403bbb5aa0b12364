#!/bin/sh
# Shell grader for 07-backup-restore, written the way hosted labs write them: docker CLI calls
# and a helper container per volume read, one self-contained block per step. Grades the same
# things as exercises/07-backup-restore: a safe gzip'd tar at the archive root holding every
# file of ml-data byte for byte; ml-data-restored holding exactly the archive; ml-data deleted,
# re-created after the backup, and restored.
# Usage: sh 07-backup-restore.sh [EXERCISE_DIR]
. "$(dirname "$0")/lib.sh"
cd "${1:-.}" || exit 2
ARCHIVE=ml-data-backup.tar.gz

# Why the archive is not a safe backup (empty output: it is one).
archive_problem() {
    [ -f "$ARCHIVE" ] || { echo "$ARCHIVE does not exist"; return; }
    gzip -t "$ARCHIVE" 2>/dev/null || { echo "$ARCHIVE is not gzip-compressed or is truncated"; return; }
    names=$(tar tzf "$ARCHIVE" 2>/dev/null) || { echo "$ARCHIVE is not a readable tar"; return; }
    echo "$names" | grep -qE '^/' && { echo "$ARCHIVE has absolute paths"; return; }
    echo "$names" | grep -qE '(^|/)\.\.(/|$)' && { echo "$ARCHIVE has paths that escape with .."; return; }
    tar tvzf "$ARCHIVE" | cut -c1 | grep -qv '[-dlh]' && { echo "$ARCHIVE holds special files"; return; }
    [ -n "$(echo "$names" | sed 's#^\./##; s#/$##' | grep -v '^\.\?$' | sort | uniq -d)" ] && { echo "$ARCHIVE holds duplicates"; return; }
    tar tvzf "$ARCHIVE" | grep -q '^-' || { echo "$ARCHIVE holds no files"; return; }
    top=$(echo "$names" | sed 's#^\./##' | grep -v '^\.\?/\?$' | cut -d/ -f1 | sort -u)
    [ "$top" = data ] && { echo "all entries are under data/"; return; }
}

step backup
problem=$(archive_problem)
if [ -n "$problem" ]; then
    fail "$problem"
elif ! volume_exists ml-data; then
    fail "no volume ml-data"
else
    missing=$(comm -23 "$(volume_manifest ml-data > /tmp/.sg07v.$$; echo /tmp/.sg07v.$$)" \
        "$(archive_manifest "$ARCHIVE" > /tmp/.sg07a.$$; echo /tmp/.sg07a.$$)")
    rm -f /tmp/.sg07v.$$ /tmp/.sg07a.$$
    if [ -n "$missing" ]; then
        fail "entries of ml-data missing or different in $ARCHIVE: $(echo "$missing" | head -n 3 | tr '\n' ' ')"
    else
        pass
    fi
fi

step restore-copy
if ! volume_exists ml-data-restored; then
    fail "no volume ml-data-restored"
elif [ ! -f "$ARCHIVE" ]; then
    fail "$ARCHIVE does not exist"
elif [ "$(volume_manifest ml-data-restored)" != "$(archive_manifest "$ARCHIVE")" ]; then
    fail "ml-data-restored does not hold exactly the files of $ARCHIVE"
else
    pass
fi

step disaster-drill
if ! volume_exists ml-data; then
    fail "no volume ml-data"
elif [ ! -f "$ARCHIVE" ]; then
    fail "$ARCHIVE does not exist"
elif [ "$(docker volume inspect -f '{{index .Labels "workbook.managed"}}' ml-data)" = true ]; then
    fail "ml-data is still the volume the workbook created: it was never deleted"
elif [ $(( $(date -d "$(docker volume inspect -f '{{.CreatedAt}}' ml-data)" +%s) + 1 )) -le "$(stat -c %Y "$ARCHIVE")" ]; then
    fail "ml-data was created before $ARCHIVE was written"
elif [ "$(volume_manifest ml-data)" != "$(archive_manifest "$ARCHIVE")" ]; then
    fail "ml-data does not hold exactly the files of $ARCHIVE"
else
    pass
fi

finish
