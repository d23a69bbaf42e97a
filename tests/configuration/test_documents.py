"""Parsing, masking and the structured diff of real-looking configuration documents."""

import pytest
from django.core.exceptions import ValidationError

from apps.configuration import documents

from .conftest import INI_PROD, INI_STAGING, PROD, STAGING, YAML_PROD, YAML_STAGING, as_json


def by_path(changes):
    return {c.path: c for c in changes}


def test_nested_json_diff_names_added_removed_and_changed_keys_with_secrets_masked():
    a = documents.parse(as_json(PROD), "json")
    b = documents.parse(as_json(STAGING), "json")
    changes = by_path(documents.diff(a.content, b.content))
    assert changes["service.workers"].kind == "changed"
    assert (changes["service.workers"].before, changes["service.workers"].after) == (16, 8)
    assert changes["database.host"].after == "ledger-db.staging.bank.example"
    assert changes["features.batch_v2"].kind == "added"
    assert changes["features.legacy_export"].kind == "removed"
    assert changes["hosts[1]"].kind == "removed"
    assert changes["hosts[0]"].after == "app1.staging"
    # a changed secret shows as changed, never with its value
    secret = changes["database.password"]
    assert secret.kind == "changed" and secret.secret
    assert "S3cret" not in str(secret.before) + str(secret.after)
    # an equal secret is not a change
    assert "api_token" not in changes
    assert "database.pool.size" not in changes
    summary = documents.diff_summary(list(changes.values()))
    assert summary == {"added": 1, "removed": 2, "changed": 4}


def test_secrets_are_never_stored():
    parsed = documents.parse(as_json(PROD), "json")
    stored = documents.canonical(parsed.content).decode()
    assert "pr0d-S3cret!" not in stored and "tok-prod-123" not in stored
    assert parsed.masked_count == 2
    assert parsed.content["database"]["host"] == "ledger-db.prod.bank.example"  # not a secret


def test_yaml_diff_masks_the_private_key_and_finds_nested_changes():
    a = documents.parse(YAML_PROD.encode(), "yaml")
    b = documents.parse(YAML_STAGING.encode(), "yaml")
    changes = by_path(documents.diff(a.content, b.content))
    assert changes["server.tls.min_version"].before == "1.2" and changes["server.tls.min_version"].after == "1.3"
    assert changes["cache.ttl_seconds"].kind == "removed"
    key = changes["server.tls.private_key"]
    assert key.kind == "changed" and key.secret and "MIIE" not in str(key.before) + str(key.after)
    assert "BEGIN PRIVATE KEY" not in documents.canonical(a.content).decode()


def test_ini_diff_by_section_with_the_password_masked():
    a = documents.parse(INI_PROD.encode(), "ini")
    b = documents.parse(INI_STAGING.encode(), "ini")
    assert a.content["DEFAULT"] == {"log_level": "INFO"}
    changes = by_path(documents.diff(a.content, b.content))
    assert changes["scheduler.max_jobs"].before == "12" and changes["scheduler.max_jobs"].after == "4"
    assert changes["scheduler.quiet_hours"].kind == "added"
    assert changes["database.password"].secret and "hunter" not in str(changes["database.password"].after)


def test_env_files_are_key_value_lines():
    parsed = documents.parse(b"# comment\nexport DB_HOST=db.prod\nDB_PASSWORD='x y z'\nWORKERS=4\n", "env")
    assert parsed.content["DB_HOST"] == "db.prod" and parsed.content["WORKERS"] == "4"
    assert parsed.content["DB_PASSWORD"].startswith(documents.MASK_PREFIX)
    assert documents.format_for("prod.env") == "env" and documents.format_for(".env") == "env"
    assert documents.format_for("app.yml") == "yaml" and documents.format_for("x.txt") is None


def test_hash_is_of_the_uploaded_bytes_and_the_stored_content_has_its_own():
    raw = as_json(PROD)
    parsed = documents.parse(raw, "json")
    import hashlib

    assert parsed.sha256 == hashlib.sha256(raw).hexdigest()
    assert parsed.content_sha256 == hashlib.sha256(documents.canonical(parsed.content)).hexdigest()
    # the same document parses to the same content hash whatever the layout
    again = documents.parse(documents.canonical(PROD), "json")
    assert again.content_sha256 == parsed.content_sha256 and again.sha256 != parsed.sha256


@pytest.mark.parametrize("raw,fmt,words", [
    (b"{not json", "json", "not valid JSON"),
    (b"[1, 2]", "json", "non-empty set of keys"),
    (b"key: [unclosed", "yaml", "not valid YAML"),
    (b"no section here\n", "ini", "not a valid INI"),
    (b"JUST TEXT\n", "env", "not KEY=value"),
    (b"", "json", "empty"),
    (b"\xff\xfe\x00", "json", "not UTF-8"),
])
def test_malformed_documents_are_refused_clearly(raw, fmt, words):
    with pytest.raises(ValidationError) as exc:
        documents.parse(raw, fmt)
    assert words in " ".join(exc.value.message_dict["file"])


def test_exception_patterns():
    assert documents.pattern_covers("db.pool.*", "db.pool.size")
    assert documents.pattern_covers("db.pool", "db.pool.size")
    assert documents.pattern_covers("hosts", "hosts[1]")
    assert not documents.pattern_covers("db.pool.*", "db.poolsize")
    assert not documents.pattern_covers("db.pool", "db.host")
