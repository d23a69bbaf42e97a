"""CSAF 2.0 documents: validation against the schema shipped with the app, and what they say is affected.

The schema (data/csaf_json_schema.json, OASIS, licence next to it) refers to the FIRST CVSS schemas by web
address. Tollgate never fetches them: they are registered as permissive local stubs, so scores are accepted
as given and everything else in the document is checked.
"""

import functools
import json
import re
from pathlib import Path

from django.core.exceptions import ValidationError

MAX_BYTES = 5 * 1024 * 1024
SCHEMA_PATH = Path(__file__).resolve().parent / "data" / "csaf_json_schema.json"
CVSS_SCHEMAS = ("https://www.first.org/cvss/cvss-v2.0.json", "https://www.first.org/cvss/cvss-v3.0.json",
                "https://www.first.org/cvss/cvss-v3.1.json")
AFFECTED = ("known_affected", "first_affected", "last_affected")
SEVERITY_WORDS = {"low": "low", "moderate": "medium", "medium": "medium", "important": "high", "high": "high",
                  "critical": "critical"}
RPM = re.compile(r"^(?P<name>.+?)-(?:\d+:)?(?P<version>[^-]+-[^-]+?)(?:\.(?:src|noarch|x86_64|ppc64le|ppc64|"
                 r"s390x|aarch64|i686))?$")


def _cvss_stub(url: str) -> dict:
    """The parts of a FIRST CVSS schema that tell the versions apart (the CSAF schema says oneOf 3.0/3.1)."""
    version = url.rsplit("cvss-v", 1)[1].removesuffix(".json")
    required = ["version", "vectorString", "baseScore"] + (["baseSeverity"] if version != "2.0" else [])
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": url, "type": "object",
            "required": required,
            "properties": {"version": {"const": version}, "vectorString": {"type": "string"},
                           "baseScore": {"type": "number", "minimum": 0, "maximum": 10}}}


@functools.cache
def _validator():
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    registry = Registry().with_resources(
        (url, Resource.from_contents(_cvss_stub(url), default_specification=DRAFT202012)) for url in CVSS_SCHEMAS)

    def no_fetch(uri):  # anything else the schema would look up on the web is an error, not a download
        from referencing.exceptions import NoSuchResource
        raise NoSuchResource(ref=uri)

    registry = Registry(retrieve=no_fetch).combine(registry)
    return Draft202012Validator(schema, registry=registry)


def parse(raw: bytes | str) -> dict:
    """The document, or a ValidationError on `document` saying what is wrong and where."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            raise ValidationError({"document": f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB."})
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError({"document": "The file is not UTF-8 text; a CSAF document is JSON."}) from None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationError({"document": f"This is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."}
                              ) from None
    if not isinstance(document, dict):
        raise ValidationError({"document": "A CSAF document is a JSON object."})
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors[:5]:
            where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            lines.append(f"{where}: {error.message[:300]}")
        more = f" … and {len(errors) - 5} more problems." if len(errors) > 5 else ""
        raise ValidationError({"document": "The document does not follow the CSAF 2.0 schema. "
                                           + " ".join(lines) + more})
    return document


def _branches(branches, context, out):
    for branch in branches or []:
        ctx = dict(context)
        category, name = branch.get("category"), branch.get("name", "")
        if category in ("product_name", "product_family"):
            ctx["product"] = name
            ctx.pop("version", None)
        elif category in ("product_version", "service_pack", "patch_level"):
            ctx["version"] = name
        elif category == "product_version_range":
            ctx["range"] = name
        if "product" in branch:
            out[branch["product"]["product_id"]] = {**ctx, "label": branch["product"].get("name", name)}
        _branches(branch.get("branches"), ctx, out)


def _vers_range(text: str) -> str:
    """`vers:semver/>=1.0|<1.4` → `>=1.0,<1.4`; free text is kept as it is."""
    if text.startswith("vers:") and "/" in text:
        return ",".join(part.strip() for part in text.split("/", 1)[1].split("|") if part.strip())
    return text


def products(document: dict) -> list[dict]:
    """What the advisory names: [{product, version, version_range, status}], de-duplicated.

    Affected: ids under known/first/last_affected. Fixed: ids under fixed/first_fixed (an inventory version
    below a fixed one of the same product is affected). A document without product status (a notice) names
    all its products as affected.
    """
    tree = document.get("product_tree") or {}
    ids: dict[str, dict] = {}
    _branches(tree.get("branches"), {}, ids)
    for full in tree.get("full_product_names") or []:
        ids.setdefault(full["product_id"], {"product": full.get("name", ""), "label": full.get("name", "")})
    for rel in tree.get("relationships") or []:
        ids[rel["full_product_name"]["product_id"]] = ids.get(rel["product_reference"], {})
    statuses: dict[str, str] = {}
    for vuln in document.get("vulnerabilities") or []:
        status = vuln.get("product_status") or {}
        for key in AFFECTED:
            for pid in status.get(key) or []:
                statuses[pid] = "affected"
        for key in ("fixed", "first_fixed"):
            for pid in status.get(key) or []:
                statuses.setdefault(pid, "fixed")
    if not statuses:
        statuses = {pid: "affected" for pid in ids}
    seen, out = set(), []
    for pid, status in statuses.items():
        entry = ids.get(pid) or {}
        product, version = entry.get("product", ""), entry.get("version", "")
        if not product and version:  # a package named with its version, e.g. telnet-1:0.17-65.el7_6.x86_64
            m = RPM.match(version)
            if m:
                product, version = m["name"], m["version"]
        if not product:
            continue
        row = (product[:200], version[:120], _vers_range(entry.get("range", ""))[:200], status)
        if row not in seen:
            seen.add(row)
            out.append(dict(zip(("product", "version", "version_range", "status"), row, strict=True)))
    return out


def summary(document: dict) -> dict:
    """identifier, title, publisher, severity (our words), url, cves."""
    doc = document["document"]
    severity = "medium"
    aggregate = (doc.get("aggregate_severity") or {}).get("text", "")
    if aggregate.lower() in SEVERITY_WORDS:
        severity = SEVERITY_WORDS[aggregate.lower()]
    else:
        rank = {"low": 1, "medium": 2, "high": 3, "critical": 4}
        found = [SEVERITY_WORDS.get(str(s.get(k, {}).get("baseSeverity", "")).lower())
                 for v in document.get("vulnerabilities") or [] for s in v.get("scores") or []
                 for k in ("cvss_v3", "cvss_v2")]
        found = [f for f in found if f]
        if found:
            severity = max(found, key=rank.__getitem__)
    url = next((r["url"] for r in doc.get("references") or [] if r.get("category") == "self"), "")
    cves = sorted({v["cve"] for v in document.get("vulnerabilities") or [] if v.get("cve")})
    return {"identifier": doc["tracking"]["id"], "title": doc["title"], "publisher": doc["publisher"]["name"],
            "severity": severity, "url": url, "cves": cves}
