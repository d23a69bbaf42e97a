"""Vendor lifecycle import into ProductRelease, upserted by (product, cycle).

Three formats, as endoflife.date publishes them:
- the API v1 product response (`GET /products/{product}`: {"schema_version", "result": {"name", "releases": [...]}}),
- a product file (Markdown with YAML front matter: `releases: [{releaseCycle, releaseDate, eoas, eol, eoes, lts,
  latest, latestReleaseDate}]`, where a date may be `true`/`false`),
- release data (`{"releases": {...}, "versions": {"16.4": {"name", "date"}}}`): per-version release dates, used
  to fill `latest`/`latest_release_date` of the cycles already known (and their release date when missing).

Dates given as `true` ("already over, date unknown") are stored as the day of the import: the phase ended no
later than that. `false` means no end is announced: no date, and for end of life `supported_indefinitely`.
A whole batch of files is checked first and written in one transaction, or not at all.
"""

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.accounts.choices import Role
from apps.audit.services import audit_append
from apps.core import clock

from .models import ProductRelease

MAX_BYTES = 2 * 1024 * 1024
SHIPPED_DIR = Path(__file__).resolve().parent / "data" / "lifecycle"
_PRODUCT_RE = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,79}$")
_FIELDS = ("release_date", "end_of_active_support", "end_of_life", "end_of_extended_support",
           "supported_indefinitely", "lts", "latest", "latest_release_date")


@dataclass
class LifecycleFile:
    """One parsed file: cycle rows to upsert, or per-version dates to apply."""

    product: str
    source: str
    cycles: list[dict]
    versions: dict[str, dt.date]


def _bad(name: str, message: str) -> ValidationError:
    return ValidationError({"file": f"{name}: {message}"})


def _date(value, name: str, where: str, *, today: dt.date):
    """A date, or True ("over, date unknown": today), False/None (none announced). Returns (date, flag)."""
    if value is None or value is False:
        return None, value
    if value is True:
        return today, True
    if isinstance(value, dt.datetime):
        return value.date(), None
    if isinstance(value, dt.date):
        return value, None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value), None
        except ValueError:
            pass
    raise _bad(name, f"{where} must be a date (YYYY-MM-DD), true or false, not “{value}”.")


def _str(value, name: str, where: str, limit: int, *, required=False) -> str:
    if value is None:
        value = ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or "\x00" in value:
        raise _bad(name, f"{where} must be text.")
    value = value.strip()
    if required and not value:
        raise _bad(name, f"{where} is missing.")
    if len(value) > limit:
        raise _bad(name, f"{where} is longer than {limit} characters.")
    return value


def _product(value: str, name: str) -> str:
    product = (value or "").strip().lower()
    if not _PRODUCT_RE.match(product):
        raise _bad(name, f"“{value}” is not a product name like postgresql or oracle-database.")
    return product


def _cycle_from_file(item, name: str, i: int, today: dt.date) -> dict:
    where = f"releases[{i}]"
    if not isinstance(item, dict):
        raise _bad(name, f"{where} must be a mapping.")
    cycle = _str(item.get("releaseCycle"), name, f"{where}.releaseCycle", 40, required=True)
    release_date, _ = _date(item.get("releaseDate"), name, f"{cycle}: releaseDate", today=today)
    eoas, _ = _date(item.get("eoas"), name, f"{cycle}: eoas", today=today)
    eol, eol_flag = _date(item.get("eol"), name, f"{cycle}: eol", today=today)
    eoes, _ = _date(item.get("eoes"), name, f"{cycle}: eoes", today=today)
    lts = item.get("lts", False)
    if not isinstance(lts, bool):
        _date(lts, name, f"{cycle}: lts", today=today)  # a date: LTS from that day on
        lts = True
    return {"cycle": cycle, "release_date": release_date, "end_of_active_support": eoas, "end_of_life": eol,
            "end_of_extended_support": eoes, "supported_indefinitely": eol_flag is False, "lts": lts,
            "latest": _str(item.get("latest"), name, f"{cycle}: latest", 40),
            "latest_release_date": _date(item.get("latestReleaseDate"), name, f"{cycle}: latestReleaseDate",
                                         today=today)[0]}


def _parse_product_file(text: str, name: str, today: dt.date) -> LifecycleFile:
    parts = text.split("\n---", 1) if text.startswith("---") else []
    if len(parts) != 2:
        raise _bad(name, "a product file starts with YAML front matter between two “---” lines.")
    try:
        front = yaml.safe_load(parts[0][3:])
    except yaml.YAMLError as exc:
        raise _bad(name, f"the front matter is not valid YAML ({str(exc).splitlines()[0]}).") from exc
    except ValueError as exc:  # a date YAML recognises but the calendar refuses, e.g. 2025-13-45
        raise _bad(name, f"the front matter has an impossible date ({exc}).") from exc
    if not isinstance(front, dict) or not isinstance(front.get("releases"), list) or not front["releases"]:
        raise _bad(name, "the front matter has no “releases” list.")
    permalink = front.get("permalink")
    stem = permalink.strip("/") if isinstance(permalink, str) and permalink.strip("/") else Path(name).stem
    product = _product(stem, name)
    cycles = [_cycle_from_file(item, name, i, today) for i, item in enumerate(front["releases"])]
    return LifecycleFile(product=product, source=f"endoflife.date product file {Path(name).name}",
                         cycles=cycles, versions={})


def _api_date(rel: dict, flag: str, key: str, name: str, where: str, today: dt.date):
    """API v1 pairs: isEol + eolFrom. Over without a date → today; not over and no date → None."""
    value, _ = _date(rel.get(key), name, f"{where}.{key}", today=today)
    if value is None and rel.get(flag) is True:
        return today, True
    return value, rel.get(flag)


def _parse_api(doc: dict, name: str, today: dt.date) -> LifecycleFile:
    result = doc.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("releases"), list):
        raise _bad(name, "an endoflife.date API response has “result” with a “releases” list.")
    product = _product(_str(result.get("name"), name, "result.name", 80, required=True), name)
    cycles = []
    for i, rel in enumerate(result["releases"]):
        where = f"result.releases[{i}]"
        if not isinstance(rel, dict):
            raise _bad(name, f"{where} must be an object.")
        cycle = _str(rel.get("name"), name, f"{where}.name", 40, required=True)
        if not isinstance(rel.get("isEol"), bool):
            raise _bad(name, f"{where}.isEol must be true or false.")
        eol, is_eol = _api_date(rel, "isEol", "eolFrom", name, where, today)
        eoas, _ = _api_date(rel, "isEoas", "eoasFrom", name, where, today)
        eoes, _ = _api_date(rel, "isEoes", "eoesFrom", name, where, today)
        latest = rel.get("latest") or {}
        if not isinstance(latest, dict):
            raise _bad(name, f"{where}.latest must be an object or null.")
        cycles.append({
            "cycle": cycle,
            "release_date": _date(rel.get("releaseDate"), name, f"{where}.releaseDate", today=today)[0],
            "end_of_active_support": eoas, "end_of_life": eol, "end_of_extended_support": eoes,
            "supported_indefinitely": is_eol is False and eol is None, "lts": rel.get("isLts") is True,
            "latest": _str(latest.get("name"), name, f"{where}.latest.name", 40),
            "latest_release_date": _date(latest.get("date"), name, f"{where}.latest.date", today=today)[0],
        })
    return LifecycleFile(product=product, source="endoflife.date API v1", cycles=cycles, versions={})


def _parse_release_data(doc: dict, name: str, product: str, today: dt.date) -> LifecycleFile:
    versions = {}
    raw_versions = doc.get("versions")
    if not isinstance(raw_versions, dict):
        raise _bad(name, "release data has a “versions” object.")
    for key, info in raw_versions.items():
        if not isinstance(info, dict):
            raise _bad(name, f"versions.{key} must be an object.")
        version = _str(info.get("name") or key, name, f"versions.{key}.name", 40, required=True)
        date, _ = _date(info.get("date"), name, f"versions.{key}.date", today=today)
        if date is not None:
            versions[version] = date
    return LifecycleFile(product=_product(product, name), source=f"endoflife.date release data {name}",
                         cycles=[], versions=versions)


def lifecycle_parse(*, filename: str, raw: bytes, product: str = "", today: dt.date | None = None):
    """Recognise and check one file; raise ValidationError({"file": ...}) naming the file and the problem."""
    today = today or clock.now().date()
    name = "".join(ch for ch in Path(filename or "upload").name if ch.isprintable())[:200] or "upload"
    if len(raw) > MAX_BYTES:
        raise _bad(name, "the file is larger than 2 MB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(name, "the file is not UTF-8 text.") from exc
    if "\x00" in text:
        raise _bad(name, "the file contains a NUL character.")
    stripped = text.lstrip()
    if stripped.startswith("---"):
        parsed = _parse_product_file(stripped, name, today)
    elif stripped.startswith("{"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _bad(name, f"not valid JSON (line {exc.lineno}: {exc.msg}).") from exc
        if "result" in doc:
            parsed = _parse_api(doc, name, today)
        elif "versions" in doc:
            parsed = _parse_release_data(doc, name, product or Path(name).name.split(".")[0], today)
        else:
            raise _bad(name, "JSON that is neither an endoflife.date API product response nor release data.")
    else:
        raise _bad(name, "expected an endoflife.date product file (YAML front matter) or JSON.")
    if product and _product(product, name) != parsed.product:
        raise _bad(name, f"the file describes “{parsed.product}”, not “{product}”.")
    cycles = [c["cycle"] for c in parsed.cycles]
    duplicates = sorted({c for c in cycles if cycles.count(c) > 1})
    if duplicates:
        raise _bad(name, f"cycle {', '.join(duplicates)} is listed twice.")
    return parsed


def cycle_of(version: str, cycles) -> str | None:
    """The known cycle a version belongs to: the longest cycle that is a dotted prefix of it."""
    version = (version or "").strip().lstrip("vV")
    best = None
    for cycle in cycles:
        matches = version == cycle or version.startswith((cycle + ".", cycle + "-"))
        if matches and (best is None or len(cycle) > len(best)):
            best = cycle
    return best


def _version_key(version: str):
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.\-]", version))


def lifecycle_import(*, files: list[tuple[str, bytes]], by, product: str = "") -> dict:
    """Check every file, then upsert all their cycles in one transaction. Returns counts per product."""
    if not by.has_role(Role.ADMIN):
        raise PermissionDenied("Only administrators import lifecycle data.")
    if not files:
        raise ValidationError({"file": "Choose at least one file."})
    now = clock.now()
    parsed = [lifecycle_parse(filename=n, raw=r, product=product, today=now.date()) for n, r in files]
    # cycle files first, so release data in the same batch finds the cycles it fills
    parsed.sort(key=lambda p: not p.cycles)
    summary: dict[str, dict] = {}
    with transaction.atomic():
        for item in parsed:
            counts = summary.setdefault(item.product, {"created": 0, "updated": 0, "versions": 0})
            existing = {r.cycle: r for r in ProductRelease.objects.select_for_update().filter(product=item.product)}
            for row in item.cycles:
                values = {k: row[k] for k in _FIELDS}
                release = existing.get(row["cycle"])
                if release is None:
                    existing[row["cycle"]] = ProductRelease.objects.create(
                        product=item.product, cycle=row["cycle"], source=item.source, imported_at=now, **values)
                    counts["created"] += 1
                else:
                    for k, v in values.items():
                        setattr(release, k, v)
                    release.source, release.imported_at = item.source, now
                    release.save()
                    counts["updated"] += 1
            if item.versions:
                counts["versions"] += _apply_versions(existing, item, now)
        audit_append(action="lifecycle.import", actor=by, object_type="inventory.productrelease",
                     object_repr=", ".join(sorted(summary)),
                     data={"files": [n for n, _ in files][:50], "products": summary})
    return summary


def _apply_versions(existing: dict, item: LifecycleFile, now) -> int:
    by_cycle: dict[str, list[tuple[str, dt.date]]] = {}
    for version, date in item.versions.items():
        cycle = cycle_of(version, existing)
        if cycle:
            by_cycle.setdefault(cycle, []).append((version, date))
    for cycle, versions in by_cycle.items():
        release = existing[cycle]
        newest = max(versions, key=lambda v: (_version_key(v[0]), v[1]))
        first = min(date for _, date in versions)
        if not release.latest or _version_key(newest[0]) >= _version_key(release.latest):
            release.latest, release.latest_release_date = newest
        if release.release_date is None:
            release.release_date = first
        release.imported_at = now
        release.save()
    return sum(len(v) for v in by_cycle.values())


def shipped_files() -> list[Path]:
    return sorted((SHIPPED_DIR / "products").glob("*.md")) + sorted((SHIPPED_DIR / "release-data").glob("*.json"))


def load_shipped(*, by) -> dict:
    """Load the lifecycle data shipped with the demo (endoflife.date, MIT: see data/lifecycle/LICENSE)."""
    return lifecycle_import(files=[(p.name, p.read_bytes()) for p in shipped_files()], by=by)


def release_list(*, product: str = ""):
    qs = ProductRelease.objects.all()
    if product:
        qs = qs.filter(product=product)
    return qs.order_by("product", "-release_date", "cycle")


def product_names() -> list[str]:
    return list(ProductRelease.objects.order_by("product").values_list("product", flat=True).distinct())
