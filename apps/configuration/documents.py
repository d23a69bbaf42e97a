"""Configuration documents: parse JSON / YAML / INI / .env, mask secrets, hash, and diff.

Pure functions (no database), so pages, API, tasks and tests share them.
"""

import configparser
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError

from .choices import SnapshotFormat

MAX_BYTES = 1024 * 1024
MAX_KEYS = 20000
MASK_PREFIX = "••••• masked secret "
# a key whose name says it holds a secret: password, secret, token, credential, api key, private key ...
SECRET_KEY_RE = re.compile(
    r"(pass(word|wd|phrase)?$|^pwd$|secret|token|credential|api[_-]?key|private[_-]?key|access[_-]?key"
    r"|(^|[_.-])key$|^key$|signing|salt$|cookie)", re.IGNORECASE)

EXTENSIONS = {"json": SnapshotFormat.JSON, "yaml": SnapshotFormat.YAML, "yml": SnapshotFormat.YAML,
              "ini": SnapshotFormat.INI, "cfg": SnapshotFormat.INI, "conf": SnapshotFormat.INI,
              "env": SnapshotFormat.ENV}


def format_for(filename: str) -> str | None:
    name = (filename or "").lower()
    if name == ".env" or name.endswith(".env") or name.startswith(".env."):
        return SnapshotFormat.ENV
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    return EXTENSIONS.get(ext)


def is_secret(key: str) -> bool:
    return bool(SECRET_KEY_RE.search(str(key)))


def canonical(data) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fingerprint(value) -> str:
    # keyed, so a short password cannot be found again by hashing guesses
    digest = hmac.new(settings.SECRET_KEY.encode(), canonical(value), hashlib.sha256).hexdigest()
    return f"{MASK_PREFIX}{digest[:12]}"


def is_masked(value) -> bool:
    return isinstance(value, str) and value.startswith(MASK_PREFIX)


def mask(data, _count=None):
    """The document with every value under a secret-looking key replaced by a keyed fingerprint."""
    count = _count if _count is not None else [0]
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if is_secret(key) and not isinstance(value, dict | list):
                out[key] = value if is_masked(value) or value in (None, "") else _fingerprint(value)
                count[0] += 1 if out[key] is not value else 0
            elif is_secret(key) and isinstance(value, list):
                out[key] = [_fingerprint(v) for v in value]
                count[0] += len(value)
            else:
                out[key] = mask(value, count)
        return out
    if isinstance(data, list):
        return [mask(v, count) for v in data]
    return data


def masked_count(data) -> int:
    count = [0]
    mask(data, count)
    return count[0]


def _stringify_keys(data):
    if isinstance(data, dict):
        return {str(k): _stringify_keys(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_stringify_keys(v) for v in data]
    if isinstance(data, (str, int, float, bool)) or data is None:
        return data
    return str(data)  # dates and the like that YAML reads


def _parse_env(text: str) -> dict:
    out = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].strip()
        if "=" not in line:
            raise ValidationError({"file": f"Line {number} is not KEY=value: “{line[:60]}”."})
        key, value = line.split("=", 1)
        key, value = key.strip(), value.strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", key):
            raise ValidationError({"file": f"Line {number}: “{key[:60]}” is not a variable name."})
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key] = value
    return out


def _parse_ini(text: str) -> dict:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keep the case of keys
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise ValidationError({"file": f"This is not a valid INI file: {str(exc).splitlines()[0][:200]}"}) from None
    out = {}
    defaults = dict(parser.defaults())
    if defaults:
        out["DEFAULT"] = defaults
    for section in parser.sections():
        out[section] = {k: v for k, v in parser.items(section) if k not in defaults or parser[section][k] != defaults[k]}
    return out


@dataclass
class Parsed:
    format: str
    content: dict
    sha256: str  # of the bytes as given
    content_sha256: str  # of the masked, canonical content
    key_count: int
    masked_count: int


def count_keys(data) -> int:
    if isinstance(data, dict):
        return sum(count_keys(v) if isinstance(v, dict | list) and v else 1 for v in data.values())
    if isinstance(data, list):
        return sum(count_keys(v) if isinstance(v, dict | list) and v else 1 for v in data)
    return 1


def parse(raw: bytes, fmt: str) -> Parsed:
    """Parse an uploaded document; refuses what is not a mapping, too big, or not text."""
    if fmt not in SnapshotFormat.values:
        raise ValidationError({"format": f"Choose one of: {', '.join(SnapshotFormat.values)}."})
    if not raw:
        raise ValidationError({"file": "The document is empty."})
    if len(raw) > MAX_BYTES:
        raise ValidationError({"file": f"The document is {len(raw) // 1024} KB; the limit is {MAX_BYTES // 1024} KB."})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": "The document is not UTF-8 text."}) from None
    if "\x00" in text:
        raise ValidationError({"file": "The document contains NUL characters; it is not a text file."})
    if fmt in (SnapshotFormat.JSON, SnapshotFormat.KEYVALUE):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError({"file": f"This is not valid JSON: {exc.msg} (line {exc.lineno}, "
                                           f"column {exc.colno})."}) from None
    elif fmt == SnapshotFormat.YAML:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark else ""
            raise ValidationError({"file": f"This is not valid YAML{where}."}) from None
    elif fmt == SnapshotFormat.INI:
        data = _parse_ini(text)
    else:
        data = _parse_env(text)
    return build(data, fmt, raw)


def build(data, fmt: str, raw: bytes | None = None) -> Parsed:
    if not isinstance(data, dict) or not data:
        raise ValidationError({"file": "The document must be a non-empty set of keys and values "
                                       "(a JSON object, a YAML mapping, INI sections or KEY=value lines)."})
    data = _stringify_keys(data)
    keys = count_keys(data)
    if keys > MAX_KEYS:
        raise ValidationError({"file": f"The document has {keys} keys; the limit is {MAX_KEYS}."})
    count = [0]
    content = mask(data, count)
    raw = raw if raw is not None else canonical(data)
    return Parsed(format=fmt, content=content, sha256=sha256(raw), content_sha256=sha256(canonical(content)),
                  key_count=keys, masked_count=count[0])


# --- diff ----------------------------------------------------------------------------------------------


def flatten(data, prefix: str = "") -> dict[str, object]:
    """{"db.pool.size": 10, "hosts[0]": "a"}: every leaf by its path."""
    out: dict[str, object] = {}
    if isinstance(data, dict):
        if not data and prefix:
            out[prefix] = {}
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten(value, path))
    elif isinstance(data, list):
        if not data and prefix:
            out[prefix] = []
        for index, value in enumerate(data):
            out.update(flatten(value, f"{prefix}[{index}]"))
    else:
        out[prefix] = data
    return out


def _display(path: str, value):
    if is_masked(value) or any(is_secret(part) for part in re.split(r"[.\[\]]", path) if part):
        return "••••• (secret, masked)" if value not in (None, "") else value
    return value


@dataclass
class Change:
    path: str
    kind: str  # added / removed / changed
    before: object = None
    after: object = None
    secret: bool = False

    def as_dict(self) -> dict:
        return {"path": self.path, "kind": self.kind, "before": self.before, "after": self.after,
                "secret": self.secret}


def diff(a: dict, b: dict) -> list[Change]:
    """What changed from `a` to `b`, leaf by leaf, sorted by path; secret values never shown."""
    fa, fb = flatten(a), flatten(b)
    changes = []
    for path in sorted(set(fa) | set(fb)):
        secret = any(is_secret(part) for part in re.split(r"[.\[\]]", path) if part)
        if path not in fa:
            changes.append(Change(path, "added", None, _display(path, fb[path]), secret))
        elif path not in fb:
            changes.append(Change(path, "removed", _display(path, fa[path]), None, secret))
        elif fa[path] != fb[path]:
            changes.append(Change(path, "changed", _display(path, fa[path]), _display(path, fb[path]), secret))
    return changes


def diff_summary(changes: list[Change]) -> dict[str, int]:
    summary = {"added": 0, "removed": 0, "changed": 0}
    for change in changes:
        summary[change.kind] += 1
    return summary


def pattern_covers(pattern: str, path: str) -> bool:
    """Does an exception's key pattern cover a changed path? `db.pool.*` covers db.pool.size and
    db.pool[0]; `db.pool` covers exactly db.pool and what is under it."""
    pattern = pattern.strip()
    if pattern in ("*", "**"):
        return True
    if pattern.endswith(".*"):
        base = pattern[:-2]
        return path.startswith(base + ".") or path.startswith(base + "[")
    return path == pattern or path.startswith(pattern + ".") or path.startswith(pattern + "[")
