"""The lab: what only the reference camera can do for a check (motion, a full log, a firmware package...).

Rule 1: the suites reach the reference camera as they reach any camera: through the API, and through this
        lab, which speaks to the camera's /_sim/ controls over HTTP with the administrator's credentials. Nothing
        of the simulator is imported: the lab works as well against a `bview-sim` in another process.
Rule 2: a camera has a lab when `GET /_sim/` answers a JSON list of controls; a real camera does not (`Target.lab`
        is None, asked once, on first use). A check that needs the lab carries the marker
        `@pytest.mark.bview_lab("what it needs")` and is skipped there with "needs the reference camera's lab: ...".
Rule 3: a lab call that fails is an error of the lab (`LabError`), never a verdict on the camera.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

MARKER = "bview_lab"
REASON = "needs the reference camera's lab: {what} (a real camera has no /_sim/ controls; run against bview-sim)"

Doc = dict[str, Any]


class LabError(Exception):
    """A lab control refused or failed (the camera's answer in the message)."""


class Lab:
    """The /_sim/ controls of the camera `target` (pytest_bview.target.Target) talks to."""

    def __init__(self, target: Any, controls: list[str]) -> None:
        self.target = target
        self.controls = controls

    @classmethod
    def probe(cls, target: Any) -> Lab | None:
        """The camera's lab, or None when GET /_sim/ does not list its controls (a real camera)."""
        try:
            r = cls._send(target, "GET", "/_sim/")
            controls = r.json().get("controls") if r.status_code == 200 else None
        except (requests.RequestException, ValueError, AttributeError):
            return None
        return cls(target, [str(c) for c in controls]) if isinstance(controls, list) else None

    @staticmethod
    def _send(target: Any, method: str, path: str, **kw: Any) -> requests.Response:
        # its own connection: lab traffic is neither evidence nor coverage of the API (client.py)
        return requests.request(
            method,
            target.client.base_url + path,
            auth=(target.user, target.password),
            timeout=max(10.0, target.timeout),
            verify=target.client.session.verify,
            headers={"Connection": "close"},
            **kw,
        )

    def _call(self, method: str, path: str, **kw: Any) -> requests.Response:
        try:
            r = self._send(self.target, method, path, **kw)
        except requests.RequestException as exc:
            raise LabError(f"{method} {path}: {exc}") from None
        if r.status_code != 200:
            raise LabError(f"{method} {path} answered HTTP {r.status_code}: {r.text[:300]}")
        return r

    # -- the controls ---------------------------------------------------------------------------------------
    def motion(self, row: int, col: int, *, size: str = "large", hold_s: float | None = None) -> Doc:
        """Motion in RegionsV2 cell (row, col): {"detected": bool, "reason": str} (receivers.py inject_motion)."""
        params: dict[str, Any] = {"region": f"{row},{col}", "size": size}
        if hold_s is not None:
            params["hold"] = hold_s
        try:
            r = self._send(self.target, "POST", "/_sim/motion", params=params)
        except requests.RequestException as exc:
            raise LabError(f"POST /_sim/motion: {exc}") from None
        if r.status_code != 200:  # a refused injection is the caller's mistake: say what the camera said
            raise AssertionError(f"/_sim/motion refused {params}: {r.content!r}")
        return dict(r.json())

    def fill_log(self, count: int) -> int:
        """`count` more log entries, as after as many events (9.2.10); the number of entries now stored."""
        return int(self._call("POST", "/_sim/log", params={"fill": count}).json()["entries"])

    def firmware_package(self, model: str, version: str) -> bytes:
        """A firmware package of the reference camera's format for `model` at `version` (ERRATA.md L18)."""
        return self._call("GET", "/_sim/firmware", params={"model": model, "version": version}).content

    def relabel_config(self, config_file: bytes, model: str) -> bytes:
        """The configuration file `config_file` (GET /System/DeviceConfigFile) as one of `model` (ERRATA.md L17)."""
        return self._call("POST", "/_sim/config-file", params={"model": model}, data=config_file).content

    def factory_values(self) -> dict[str, Doc]:
        """Path -> the document the reference camera documents as its factory value (ERRATA.md L15)."""
        return dict(self._call("GET", "/_sim/factory-defaults").json())

    def stored(self, path: str) -> Doc:
        """The stored document of `path`, write-only fields (passwords) included: the session learns them, so
        that no report shows them (client.py Rule 2)."""
        doc = dict(self._call("GET", "/_sim/store", params={"path": path}).json())
        self.target.client.secrets.learn_document(doc)
        return doc

    def store(self, path: str, doc: Doc) -> None:
        """Store `doc` as `path` (a write-only field no PUT can put back, 6.1.2); its secrets become known ones."""
        self.target.client.secrets.learn_document(doc)
        self._call("PUT", "/_sim/store", params={"path": path}, data=json.dumps(doc))


def skip_reason(what: str) -> str:
    return REASON.format(what=what or "a control only the reference camera has")


def required(target: Any, what: str = "") -> Lab:
    """The camera's lab, or a skip saying what the check needs it for (Rule 2)."""
    lab = target.lab
    if lab is None:
        pytest.skip(skip_reason(what))
    return lab
