#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh and prove it is whole.
#
#   scripts/restore.sh BACKUP_DIR --database-url URL --media-root DIR [--archive-root DIR]
#                      [--migrate] [--check-only]
#
# BACKUP_DIR     a directory written by scripts/backup.sh
# --database-url the database to restore into (default $TARGET_DATABASE_URL). It is created when it
#                does not exist and must hold no table when it does: restore.sh never overwrites data.
# --media-root   the folder to restore the stored files into (default $TARGET_MEDIA_ROOT); it must be
#                empty or missing. --archive-root likewise, for a backup with a separate archive folder.
# --migrate      apply the migrations the code has and the backup lacks (restoring into a newer
#                Tollgate); without it they are reported as a failure
# --check-only   restore nothing: run the checks below on a target restored earlier (and not used since)
#
# Checks, in order; any failure makes the exit status 1 (2: the backup itself is damaged):
#   1. SHA256SUMS of the backup directory (before anything is touched)
#   2. every restored file has the SHA-256 of the manifest, and no file is missing or extra
#   3. the migrations recorded in the restored database are the ones in migrations.txt
#   4. the audit chain head (seq and hash) and the number of events are the ones in the manifest
#   5. `manage.py audit_verify` recomputes the whole chain (and the signed checkpoints) on the restore
#   6. the append-only trigger of the audit table is in place
#   7. `manage.py migrate --check`: the running code expects no migration the database lacks
#
# manage.py runs with the environment of the caller (SECRET_KEY must be production's: it signs the
# audit checkpoints) and DATABASE_URL / MEDIA_ROOT / ARCHIVE_ROOT pointed at the target.
# PYTHON selects the interpreter (default python3).
set -euo pipefail

die() { echo "restore: $*" >&2; exit "${2:-1}"; }
log() { echo "restore: $*"; }

project_dir=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
backup=""
target_url=${TARGET_DATABASE_URL:-}
media_root=${TARGET_MEDIA_ROOT:-}
archive_root=${TARGET_ARCHIVE_ROOT:-}
migrate=false
check_only=false

while [ $# -gt 0 ]; do
    case "$1" in
        --database-url) target_url=$2; shift 2 ;;
        --media-root) media_root=$2; shift 2 ;;
        --archive-root) archive_root=$2; shift 2 ;;
        --migrate) migrate=true; shift ;;
        --check-only) check_only=true; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option: $1 (see --help)" ;;
        *) [ -z "$backup" ] || die "one backup directory only"; backup=$1; shift ;;
    esac
done

[ -n "$backup" ] || die "name the backup directory (see --help)"
[ -d "$backup" ] || die "$backup is not a directory"
backup=$(cd "$backup" && pwd)
[ -n "$target_url" ] || die "set --database-url (or TARGET_DATABASE_URL) to the database to restore into"
[ -n "$media_root" ] || die "set --media-root (or TARGET_MEDIA_ROOT) to the folder for the stored files"
case "$target_url" in
    postgres://*|postgresql://*) ;;
    pgsql://*|psql://*) target_url="postgresql://${target_url#*://}" ;;
    *) die "the target must be a PostgreSQL URL" ;;
esac
if [ -f "$backup/archive.tar.gz" ] && [ -z "$archive_root" ]; then
    die "this backup has a separate archive folder: set --archive-root"
fi

# --- 1. the backup is what backup.sh wrote -----------------------------------------------------------
[ -f "$backup/SHA256SUMS" ] && [ -f "$backup/manifest.txt" ] || die "$backup is not a Tollgate backup" 2
(cd "$backup" && sha256sum --check --strict --quiet SHA256SUMS) \
    || die "the backup is damaged: its files do not match SHA256SUMS; nothing was restored" 2
log "backup $backup: checksums OK"
manifest() { sed -n "s/^$1=//p" "$backup/manifest.txt"; }
head_seq=$(manifest audit_head_seq)
head_hash=$(manifest audit_head_hash)
events=$(manifest audit_events)
[ -n "$head_seq" ] && [ -n "$head_hash" ] || die "the manifest has no audit chain head" 2

sql() {  # sql URL: run stdin on URL, unaligned, without headers; variables via -v
    local url=$1; shift
    psql "$url" -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}

# --- restore -----------------------------------------------------------------------------------------
restore_files() {  # <tar> <folder>
    mkdir -p "$2"
    [ -z "$(ls -A "$2")" ] || die "$2 is not empty: restore into an empty folder"
    tar -C "$2" -xzf "$1"
}
if ! $check_only; then
    name=${target_url##*/}; name=${name%%\?*}
    query=""; case "$target_url" in *\?*) query="?${target_url#*\?}" ;; esac
    maintenance="${target_url%/*}/postgres$query"
    exists=$(echo "SELECT 1 FROM pg_database WHERE datname = :'name';" | sql "$maintenance" -v name="$name")
    if [ -z "$exists" ]; then
        echo 'CREATE DATABASE :"name";' | sql "$maintenance" -v name="$name"
        log "created database $name"
    fi
    tables=$(echo "SELECT count(*) FROM pg_tables WHERE schemaname = 'public';" | sql "$target_url")
    [ "$tables" -eq 0 ] || die "database $name holds $tables tables already: restore into an empty database"
    # one transaction: a failed restore leaves the database empty, never half restored
    pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
        --dbname="$target_url" "$backup/database.dump"
    log "database $name restored from database.dump"
    restore_files "$backup/media.tar.gz" "$media_root"
    log "stored files restored into $media_root"
    if [ -f "$backup/archive.tar.gz" ]; then
        restore_files "$backup/archive.tar.gz" "$archive_root"
        log "archive restored into $archive_root"
    fi
fi

# --- checks ------------------------------------------------------------------------------------------
failures=0
ok() { log "OK    $*"; }
fail() { log "FAIL  $*"; failures=$((failures + 1)); }

check_files() {  # <checksum list> <folder> <what>
    local expected actual
    [ -d "$2" ] || { fail "$3: $2 does not exist"; return; }
    expected=$(wc -l <"$1")
    # (sha256sum refuses an empty list: a backup without stored files checks only that none appeared)
    if [ "$expected" -eq 0 ] || (cd "$2" && sha256sum --check --strict --quiet "$1"); then
        actual=$(find "$2" -type f | wc -l)
        if [ "$actual" -eq "$expected" ]; then
            ok "$3: $expected files with the SHA-256 of the backup"
        else
            fail "$3: $actual files where the backup has $expected"
        fi
    else
        fail "$3: files missing or different from the backup (see above)"
    fi
}
check_files "$backup/media.sha256" "$media_root" "stored files"
if [ -f "$backup/archive.sha256" ]; then
    check_files "$backup/archive.sha256" "$archive_root" "archive"
fi

restored_migrations=$(echo "COPY (SELECT app || ' ' || name FROM django_migrations
                            ORDER BY app COLLATE \"C\", name COLLATE \"C\") TO STDOUT;" | sql "$target_url")
if [ "$restored_migrations" = "$(cat "$backup/migrations.txt")" ]; then
    ok "migrations: the $(wc -l <"$backup/migrations.txt") of the backup," \
       "latest $(manifest migrations_latest)"
else
    fail "migrations: the restored database records other migrations than migrations.txt"
fi

restored_head=$(echo "SELECT seq || ' ' || hash FROM audit_chainhead WHERE id = 1;" | sql "$target_url")
if [ "$restored_head" = "$head_seq $head_hash" ]; then
    ok "audit chain head: #$head_seq $head_hash, as in the manifest"
else
    fail "audit chain head: #${restored_head:-none} restored, the manifest says #$head_seq $head_hash"
fi
restored_events=$(echo "SELECT count(*) FROM audit_auditevent;" | sql "$target_url")
if [ "$restored_events" = "$events" ]; then
    ok "audit events: $events, as in the manifest"
else
    fail "audit events: $restored_events restored, the manifest says $events"
fi

manage() {
    (cd "$project_dir" && DATABASE_URL="$target_url" MEDIA_ROOT="$media_root" \
        ARCHIVE_ROOT="${archive_root:-${ARCHIVE_ROOT:-}}" "$python" manage.py "$@")
}
if verify=$(manage audit_verify 2>&1); then
    ok "manage.py audit_verify: $verify"
else
    fail "manage.py audit_verify: $verify"
fi

trigger=$(echo "SELECT count(*) FROM pg_trigger WHERE tgname = 'tollgate_audit_append_only'
                AND NOT tgisinternal AND tgenabled <> 'D';" | sql "$target_url")
if [ "$trigger" = "1" ]; then
    ok "the audit table is append-only (its trigger is in place and enabled)"
else
    fail "the append-only trigger of the audit table is missing or disabled"
fi

if manage migrate --check >/dev/null 2>&1; then
    ok "manage.py migrate --check: the code expects no further migration"
elif $migrate; then
    log "applying the migrations this Tollgate has and the backup lacks:"
    if manage migrate --noinput && verify=$(manage audit_verify 2>&1); then
        ok "manage.py migrate, then audit_verify: $verify"
    else
        fail "manage.py migrate or the audit_verify after it failed: ${verify:-}"
    fi
else
    fail "manage.py migrate --check: this Tollgate has migrations the backup lacks" \
         "(restore with the version of the backup, or pass --migrate)"
    manage showmigrations --plan 2>/dev/null | grep -F '[ ]' || true
fi

if [ "$failures" -gt 0 ]; then
    log "RESTORE NOT VERIFIED: $failures check(s) failed"
    exit 1
fi
log "restore verified: audit chain #$head_seq intact, files identical"
