"""The camera's persistent configuration.

Rule 1: the whole configuration is one JSON document, replaced atomically (write a temporary
        file in the same directory, fsync it, rename it over the old one, fsync the directory).
        A crash at any moment leaves either the old or the new document, never a mix.
Rule 2: readers get deep copies; only `commit` changes the document, and it changes it all
        at once, so a rejected request can never leave half of its values behind. A commit puts
        new documents in place and never changes a stored one, so `view` may hand out the stored
        document itself to readers that do not change it, and its identity marks a revision.
Rule 3: a state file that cannot be read is kept aside (`config.json.corrupt-<time>`) and the
        camera starts from factory defaults, saying so, instead of refusing to boot. Temporary files a
        killed process left behind (`.config.json.*.tmp`) are removed at start.
Rule 4: a commit that cannot be written (disk full) changes nothing and raises OSError, except a
        `keep=True` commit (the log): it stays in memory, is written with the next commit that succeeds,
        and still raises so the caller can say so.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pytest_bview.files import atomic_write  # (a name of this module: tests replace it here)

log = logging.getLogger("bview.sim.state")

Doc = dict[str, Any]
FORMAT_VERSION = 1


def copy_doc(value: Any) -> Any:
    """`copy.deepcopy` of the JSON-shaped documents the store holds, several times faster (every GET and
    every authentication reads the store); anything that is not dict/list/scalar goes through deepcopy."""
    kind = type(value)
    if kind is dict:
        return {k: copy_doc(v) for k, v in value.items()}
    if kind is list:
        return [copy_doc(v) for v in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


_SCALARS = frozenset({str, int, float, bool, type(None)})


class Store:
    """Resources' stored documents keyed by concrete path ("/Images/1/Color"), plus extras."""

    def __init__(self, directory: Path | None, factory: Callable[[], Mapping[str, Doc]]) -> None:
        self.directory = directory
        self.path = directory / "config.json" if directory else None
        self._factory = factory
        self._lock = threading.RLock()
        self._data: dict[str, Any] = {"version": FORMAT_VERSION, "resources": {}, "extra": {}}
        self.recovered_from_corruption = False
        self.load()

    # -- reading ------------------------------------------------------------------------
    def get(self, key: str) -> Doc | None:
        with self._lock:
            doc = self._data["resources"].get(key)
            return copy_doc(doc) if doc is not None else None

    def view(self, key: str) -> Doc | None:
        """The stored document itself, not a copy, for readers that never change it (authentication on every
        request). Safe to hold: `commit` and `replace` put new documents in place, they never change one."""
        with self._lock:
            return self._data["resources"].get(key)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._data["resources"])

    def extra(self, name: str, default: Any = None) -> Any:
        """Non-resource persistent values (firmware version, event subscriptions, log)."""
        with self._lock:
            return copy_doc(self._data["extra"].get(name, default))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy_doc(self._data)

    # -- writing ------------------------------------------------------------------------
    def commit(
        self, resources: Mapping[str, Doc] | None = None, extra: Mapping[str, Any] | None = None, *, keep: bool = False
    ) -> None:
        """Apply all changes at once and persist them atomically (Rule 4 for `keep`)."""
        with self._lock:
            new = copy_doc(self._data)
            new["resources"].update(copy_doc(dict(resources or {})))
            new["extra"].update(copy_doc(dict(extra or {})))
            try:
                self._persist(new)
            except OSError:
                if keep:
                    self._data = new
                raise
            self._data = new

    def replace(self, data: Mapping[str, Any]) -> None:
        """Replace the whole state (configuration import, factory default)."""
        with self._lock:
            new = {
                "version": FORMAT_VERSION,
                "resources": copy.deepcopy(dict(data.get("resources", {}))),
                "extra": copy.deepcopy(dict(data.get("extra", {}))),
            }
            self._persist(new)
            self._data = new

    def factory_reset(self, keep_extra: tuple[str, ...] = ()) -> None:
        with self._lock:
            extra = {k: self._data["extra"][k] for k in keep_extra if k in self._data["extra"]}
            self.replace({"resources": dict(self._factory()), "extra": extra})

    def _persist(self, data: Mapping[str, Any]) -> None:
        if self.path is None:
            return
        atomic_write(self.path, json.dumps(data, indent=1, sort_keys=True).encode())

    def load(self) -> None:
        factory = dict(self._factory())
        data: dict[str, Any] | None = None
        if self.path is not None and self.directory is not None and self.directory.is_dir():
            for stale in self.directory.glob(f".{self.path.name}.*.tmp"):  # Rule 3: left by a kill mid-write
                try:
                    stale.unlink()
                    log.warning("removed %s, left by an interrupted write", stale.name)
                except OSError as exc:
                    log.warning("cannot remove %s: %s", stale, exc)
        if self.path is not None and self.path.exists():
            try:
                data = json.loads(self.path.read_text("utf-8"))
                if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
                    raise ValueError("unknown state format")
            except (ValueError, OSError) as exc:
                aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
                log.error(
                    "state file %s unreadable (%s); kept as %s, starting from factory defaults", self.path, exc, aside
                )
                os.replace(self.path, aside)
                self.recovered_from_corruption = True
                data = None
        with self._lock:
            if data is None:
                self._data = {"version": FORMAT_VERSION, "resources": factory, "extra": {}}
                self._persist(self._data)
            else:
                # a newer simulator may know resources an older state file lacks
                for key, doc in factory.items():
                    data["resources"].setdefault(key, doc)
                data.setdefault("extra", {})
                self._data = data
