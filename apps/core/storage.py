"""Storage per region (data sovereignty): a file of a region lives in the storage configured for that region.

A file stored through `RegionRoutedStorage` is named `regions/<region>/<rest>`; the storage routes every
operation on it to the storage of that region, which sees only `<rest>`. The storages come from the setting
`TOLLGATE_REGION_STORAGES` ({region: {"BACKEND": dotted path, "OPTIONS": {...}}}); a region without an entry
gets a FileSystemStorage under MEDIA_ROOT/regions/<region>/ (the local folders of the demo). A name without
the `regions/` prefix (files stored before regions, or of no region) goes to the default storage.
"""

import re
from functools import cache

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.utils.deconstruct import deconstructible
from django.utils.module_loading import import_string

PREFIX = "regions/"
REGION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


def region_slug_ok(region: str) -> bool:
    """A region usable as a folder name: letters, digits, '.', '_' and '-', at most 40 (like System.region)."""
    return isinstance(region, str) and bool(REGION_RE.match(region)) and ".." not in region


def region_prefix(region: str) -> str:
    """The name prefix that stores a file in `region` ('' when the region cannot name a folder)."""
    return f"{PREFIX}{region}/" if region_slug_ok(region or "") else ""


@cache
def _storage_for(region: str, config_key: str) -> Storage:
    config = (getattr(settings, "TOLLGATE_REGION_STORAGES", None) or {}).get(region)
    if config:
        return import_string(config["BACKEND"])(**config.get("OPTIONS", {}))
    media_url = settings.MEDIA_URL or "/media/"
    return FileSystemStorage(location=f"{settings.MEDIA_ROOT}/regions/{region}",
                             base_url=f"{media_url.rstrip('/')}/regions/{region}/")


def storage_for_region(region: str) -> Storage:
    # keyed by the settings too, so tests overriding them get fresh storages
    key = repr((sorted((getattr(settings, "TOLLGATE_REGION_STORAGES", None) or {}).items()), settings.MEDIA_ROOT))
    return _storage_for(region, key)


@deconstructible
class RegionRoutedStorage(Storage):
    def _route(self, name: str) -> tuple[Storage, str, str]:
        name = str(name).replace("\\", "/")
        if name.startswith(PREFIX):
            region, _, rest = name[len(PREFIX):].partition("/")
            if region_slug_ok(region) and rest:
                return storage_for_region(region), f"{PREFIX}{region}/", rest
        return default_storage, "", name

    def _open(self, name, mode="rb"):
        storage, _, rest = self._route(name)
        return storage.open(rest, mode)

    def _save(self, name, content):
        storage, prefix, rest = self._route(name)
        return prefix + storage.save(rest, content)

    def get_available_name(self, name, max_length=None):
        storage, prefix, rest = self._route(name)
        limit = max_length - len(prefix) if max_length else None
        return prefix + storage.get_available_name(rest, max_length=limit)

    def delete(self, name):
        storage, _, rest = self._route(name)
        storage.delete(rest)

    def exists(self, name):
        storage, _, rest = self._route(name)
        return storage.exists(rest)

    def size(self, name):
        storage, _, rest = self._route(name)
        return storage.size(rest)

    def url(self, name):
        storage, _, rest = self._route(name)
        return storage.url(rest)

    def path(self, name):
        storage, _, rest = self._route(name)
        return storage.path(rest)

    def listdir(self, path):
        storage, _, rest = self._route(path.rstrip("/") + "/")
        return storage.listdir(rest)

    def get_modified_time(self, name):
        storage, _, rest = self._route(name)
        return storage.get_modified_time(rest)


_ROUTED = RegionRoutedStorage()


def region_storage() -> Storage:
    """The storage of FileFields whose files belong to a region (a callable, so migrations keep a reference)."""
    return _ROUTED
