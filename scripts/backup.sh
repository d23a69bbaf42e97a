#!/usr/bin/env bash
# Back up Tollgate: the PostgreSQL database and the stored files, into one dated directory.
#
#   scripts/backup.sh [--out DIR] [--database-url URL] [--media-root DIR] [--archive-root DIR]
#
# Defaults come from the same environment the app reads: DATABASE_URL, MEDIA_ROOT (else
# $TOLLGATE_VAR_DIR/media, else var/media in the project), ARCHIVE_ROOT (only when it lies outside
# MEDIA_ROOT; inside it, it is part of the media archive). --out defaults to $BACKUP_DIR, else ./backups.
#
# The directory <out>/tollgate-backup-<UTC time>/ holds:
#   database.dump   pg_dump -Fc of the database
#   media.tar.gz    every file under MEDIA_ROOT (attachments, reports, evidence packs, the archive)
#   archive.tar.gz  ARCHIVE_ROOT, when it is a separate folder
#   media.sha256    SHA-256 of each stored file, as it is in the tar (archive.sha256 likewise)
#   migrations.txt  the migrations applied in the database (app and name, one a line)
#   manifest.txt    when, from where, the audit chain head (seq and hash) and counts
#   SHA256SUMS      SHA-256 of every file above; scripts/restore.sh checks it first
#
# The chain head, the migration state and the dump come from ONE snapshot of the database (a
# repeatable-read transaction whose snapshot pg_dump reuses), so the manifest describes exactly the
# dump, while the application keeps running. Files are archived after the dump: every file a dumped
# row refers to existed by then (files are written before their row commits; retention moves files to
# the archive folder, which is backed up too). The directory appears under its final name only when
# everything succeeded. The last line printed is the path of the backup directory.
set -euo pipefail

die() { echo "backup: $*" >&2; exit 1; }
log() { echo "backup: $*" >&2; }

project_dir=$(cd "$(dirname "$0")/.." && pwd)
out=${BACKUP_DIR:-./backups}
database_url=${DATABASE_URL:-}
media_root=${MEDIA_ROOT:-${TOLLGATE_VAR_DIR:-$project_dir/var}/media}
archive_root=${ARCHIVE_ROOT:-}

while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=$2; shift 2 ;;
        --database-url) database_url=$2; shift 2 ;;
        --media-root) media_root=$2; shift 2 ;;
        --archive-root) archive_root=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

[ -n "$database_url" ] || die "set DATABASE_URL (or --database-url) to the PostgreSQL database"
case "$database_url" in
    postgres://*|postgresql://*) ;;
    pgsql://*|psql://*) database_url="postgresql://${database_url#*://}" ;;
    *) die "DATABASE_URL is not PostgreSQL; the SQLite demo is backed up by copying its var/ folder" ;;
esac
if [ ! -e "$media_root" ]; then
    # a fresh installation has stored no file yet (Django creates the folder on the first upload)
    log "WARNING: MEDIA_ROOT $media_root does not exist: the backup holds no stored files"
    mkdir -p "$media_root"
fi
[ -d "$media_root" ] || die "MEDIA_ROOT $media_root is not a directory"
media_root=$(cd "$media_root" && pwd)
if [ -n "$archive_root" ]; then
    [ -d "$archive_root" ] || die "ARCHIVE_ROOT $archive_root is not a directory"
    archive_root=$(cd "$archive_root" && pwd)
    case "$archive_root/" in "$media_root"/*) archive_root="" ;; esac  # inside MEDIA_ROOT: in media.tar.gz
fi
for tool in pg_dump psql tar sha256sum; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
final="$(cd "$out" && pwd)/tollgate-backup-$stamp"
[ ! -e "$final" ] || die "$final exists already"
work="$final.partial"
mkdir "$work"
trap 'rm -rf "$work"' EXIT

# --- the database: one snapshot for the head, the migrations and the dump ---------------------------
coproc PSQL { psql "$database_url" -X -q -A -t -F '|' -v ON_ERROR_STOP=1 2>&1; }
# bash unsets PSQL_PID (and the PSQL fds) as soon as it reaps the coprocess: keep our own copies
psql_pid=$PSQL_PID
psql_in=${PSQL[1]}
psql_out=${PSQL[0]}
ask() {  # one query in the open transaction; its answer is one line
    local line
    echo "$1" >&"$psql_in"
    IFS= read -r -t 60 line <&"$psql_out" || die "no answer from PostgreSQL to: $1"
    case "$line" in *ERROR*|*FATAL*|*psql:*) die "PostgreSQL: $line" ;; esac
    printf '%s\n' "$line"
}
echo "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;" >&"$psql_in"
snapshot=$(ask "SELECT pg_export_snapshot();")
server_version=$(ask "SHOW server_version;")
database_name=$(ask "SELECT current_database() || '@' || coalesce(host(inet_server_addr()), 'local')
                      || ':' || current_setting('port');")
head=$(ask "SELECT seq || '|' || hash FROM audit_chainhead WHERE id = 1;")
[ -n "$head" ] || die "the database has no audit chain head: is it a migrated Tollgate database?"
events=$(ask "SELECT count(*) FROM audit_auditevent;")
checkpoints=$(ask "SELECT count(*) FROM audit_auditcheckpoint;")
applied=$(ask "SELECT count(*) FROM django_migrations;")
# the whole list, NUL-free and one a line; the COPY ends with an empty line we stop at
echo "COPY (SELECT app || ' ' || name FROM django_migrations ORDER BY app COLLATE \"C\", name COLLATE \"C\")
      TO STDOUT; SELECT '';" >&"$psql_in"
: >"$work/migrations.txt"
while IFS= read -r -t 60 line <&"$psql_out"; do
    [ -n "$line" ] || break
    printf '%s\n' "$line" >>"$work/migrations.txt"
done
latest=$(ask "SELECT app || ' ' || name FROM django_migrations ORDER BY applied DESC, id DESC LIMIT 1;")

log "dumping $database_name (snapshot $snapshot, audit head #${head%%|*})"
pg_dump --format=custom --snapshot="$snapshot" --file="$work/database.dump" "$database_url"
echo "COMMIT;" >&"$psql_in"
exec {psql_in}>&-
wait "$psql_pid" 2>/dev/null || true

# --- the stored files --------------------------------------------------------------------------------
archive_files() {  # <source dir> <name>: <name>.tar.gz and <name>.sha256 (checksums taken from the tar)
    local rc=0
    tar -C "$1" -czf "$work/$2.tar.gz" . || rc=$?
    # GNU tar exits 1 when a file changed while it was read: the tar is still usable and the checksums
    # below describe exactly what it holds
    [ "$rc" -le 1 ] || die "tar of $1 failed (exit $rc)"
    # shellcheck disable=SC2016  # expanded by the shell tar starts for each file
    tar -xzf "$work/$2.tar.gz" \
        --to-command='printf "%s  %s\n" "$(sha256sum | cut -d" " -f1)" "${TAR_FILENAME#./}"' \
        | LC_ALL=C sort -k2 >"$work/$2.sha256"
}
log "archiving $media_root"
archive_files "$media_root" media
media_count=$(wc -l <"$work/media.sha256")
archive_count=""
if [ -n "$archive_root" ]; then
    log "archiving $archive_root"
    archive_files "$archive_root" archive
    archive_count=$(wc -l <"$work/archive.sha256")
fi

# --- the manifest ------------------------------------------------------------------------------------
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$project_dir/pyproject.toml" 2>/dev/null | head -1)
{
    echo "format=tollgate-backup/1"
    echo "created_at=$stamp"
    echo "tollgate_version=${version:-unknown}"
    echo "database=$database_name"
    echo "server_version=$server_version"
    echo "pg_dump_version=$(pg_dump --version)"
    echo "snapshot=$snapshot"
    echo "audit_head_seq=${head%%|*}"
    echo "audit_head_hash=${head#*|}"
    echo "audit_events=$events"
    echo "audit_checkpoints=$checkpoints"
    echo "migrations_applied=$applied"
    echo "migrations_latest=$latest"
    echo "media_files=$media_count"
    [ -z "$archive_count" ] || echo "archive_files=$archive_count"
} >"$work/manifest.txt"
[ "$(wc -l <"$work/migrations.txt")" -eq "$applied" ] || die "the migration list is incomplete"

(cd "$work" && sha256sum -- *.dump *.tar.gz *.sha256 migrations.txt manifest.txt >SHA256SUMS)
mv "$work" "$final"
trap - EXIT
log "done: audit head #${head%%|*}, $events events, $media_count files"
echo "$final"
