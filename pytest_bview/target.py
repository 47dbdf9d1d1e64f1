"""The camera under test, as the suites see it: address, client, identity, helpers.

With no `--bview-host` the built-in reference camera is started here, on loopback with
ephemeral ports, its time scaled like the suite's.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_bview import checks
from pytest_bview.client import Client, DeviceError, Exchange, ssl_context, urlhost  # noqa: F401  (re-exported)
from pytest_bview.documents import comparable, left_to_session_restore
from pytest_bview.options import Settings
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.facts import CLOCK_FIELDS, RTSP_PATHS
from pytest_bview.spec.resources import Instances, Resource, match

if TYPE_CHECKING:
    from pytest_bview.lab import Lab

IDENTITY_FIELDS = ("DeviceTypeName", "SerialNum", "SoftWareVersion", "HardWareVersion", "DeviceName")


class SessionError(Exception):
    """The camera cannot be tested at all; the session ends before any write with this exit status.

    pytest's own statuses are 0-5; the kit's start at 6 (documented in the README):
    6 unreachable, 7 credentials refused, 8 not a B-View 2 device, 9 left changed by an interrupted run
    and not repaired, 10 TLS failed (the camera answers, its certificate or TLS setup is refused).
    """

    exit_status = 6


class TLSFailed(SessionError):
    exit_status = 10


class CredentialsRefused(SessionError):
    exit_status = 7


class NotBView(SessionError):
    exit_status = 8


class StateUnknown(SessionError):
    exit_status = 9


@dataclass
class Target:
    settings: Settings
    host: str
    port: int
    rtsp_port: int
    client: Client
    sim: Any = None  # CameraThread of the built-in camera
    identity: dict[str, str] = field(default_factory=dict)
    instances: Instances = field(default_factory=Instances)
    motion_until: float = 0.0  # monotonic time the lab's injected motion ends (receivers.inject_motion)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings, *, identity: Any = None) -> Target:
        """Connect to the camera; start the built-in one (as `identity` when given: fleet runs) if no host."""
        sim = None
        if settings.builtin:
            from pytest_bview.simulator.camera import CameraOptions, CameraThread

            sim = CameraThread(
                CameraOptions(
                    time_scale=settings.time_scale,
                    faults=settings.sim_fault,
                    variants=settings.sim_variant,
                    discovery_port=settings.discovery_port,
                    ssdp_port=0,
                    https=settings.scheme == "https",
                    identity=_sim_identity(settings, identity),
                )
            ).start()
            host, port, rtsp_port = "127.0.0.1", sim.ports["http"], sim.ports["rtsp"]
        else:
            host = settings.host or ""
            port = settings.port or (443 if settings.scheme == "https" else 80)
            rtsp_port = settings.rtsp_port or 554
        client = Client(
            f"{settings.scheme}://{urlhost(host)}:{port}",
            settings.user,
            settings.password,
            timeout=settings.timeout,
            settle=settings.settle,
            verify=_verify(settings, sim),
        )
        client.read_only = settings.level == "readonly"
        target = cls(settings, host, port, rtsp_port, client, sim)
        try:
            target.identify()
        except SessionError:
            target.close()
            raise
        return target

    def identify(self) -> None:
        """Prove this is a B-View 2 camera that takes our credentials (9.2.4 DeviceInfo), before any write."""
        where = f"{self.settings.scheme}://{urlhost(self.host)}:{self.port}"
        try:
            ex = self.client.get("/System/DeviceInfo")
            error = str(ex.error)
        except DeviceError as err:
            ex, error = None, str(err)
        if ex is None or ex.status is None:
            if "TLS failed" in error:
                raise TLSFailed(f"camera {where}: {error}")
            raise SessionError(f"camera {where} unreachable: {error}{_scheme_hint(self.settings, error)}")
        if ex.status == 401:
            raise CredentialsRefused(
                f"camera {where} refuses the credentials of user {self.settings.user!r} "
                "(HTTP 401 on GET /System/DeviceInfo)"
            )
        try:
            doc = checks.read_block(ex, "DeviceInfo", "9.2.4")
        except AssertionError as err:
            raise NotBView(
                f"{where} is not a B-View 2 camera: GET /System/DeviceInfo must answer a <DeviceInfo> block "
                f"(9.2.4); it {_first_line(err)}. Nothing was written to it."
            ) from None
        missing = [k for k in ("DeviceTypeName", "SerialNum") if not str(doc.get(k) or "").strip()]
        if missing:
            raise NotBView(
                f"{where} is not a B-View 2 camera that can be told apart: its DeviceInfo has no "
                f"{' and no '.join(missing)} (9.2.4). Nothing was written to it."
            )
        self.identity = {k: str(doc.get(k, "")) for k in IDENTITY_FIELDS}
        self.client.exchanges.clear()

    def close(self) -> None:
        self.client.close()
        if self.sim is not None:
            self.sim.stop()
            self.sim = None

    # -- helpers the suites use ---------------------------------------------------------
    @property
    def key(self) -> str:
        return device_key(self.identity)

    @property
    def serial(self) -> str:
        return self.identity.get("SerialNum") or "unknown"

    @property
    def model(self) -> str:
        return self.identity.get("DeviceTypeName") or "unknown"

    @property
    def firmware(self) -> str:
        return self.identity.get("SoftWareVersion") or "unknown"

    def urls(self, resource: Resource) -> list[str]:
        return list(self.instances.expand(resource))

    def get(self, path: str, **kw: Any) -> Exchange:
        return self.client.get(path, **kw)

    def put(self, path: str, body: bytes | str | None = None, **kw: Any) -> Exchange:
        return self.client.put(path, body, **kw)

    def read(self, path: str) -> tuple[dict[str, Any], Exchange]:
        """GET a block resource and return its document (failing the test if it is not one)."""
        found = match(path)
        assert found is not None and found[0].block, f"{path} is not a block resource"
        ex = self.client.get(path)
        return checks.read_block(ex, found[0].block, found[0].section), ex

    def read_query(self, path: str, params: dict[str, str]) -> tuple[dict[str, Any], Exchange]:
        """GET a block resource with query parameters (9.2.10 logging)."""
        found = match(path)
        assert found is not None and found[0].block
        ex = self.client.get(path, params=params)
        return checks.read_block(ex, found[0].block, found[0].section), ex

    def write(self, path: str, doc: dict[str, Any], *, expect: int | tuple[int, ...] = 0) -> Exchange:
        """PUT a document to a block resource and check the statusCode."""
        from pytest_bview.protocol.xmlblocks import to_xml

        resource = match(path)
        assert resource is not None and resource[0].block
        block = BLOCKS[resource[0].block]
        ex = self.client.put(path, to_xml(block, doc, include_wo=True))
        checks.check_status(ex, expect, resource[0].section)
        return ex

    @contextlib.contextmanager
    def preserved(self, *paths: str, network_later: bool = True) -> Iterator[dict[str, dict[str, Any]]]:
        """Snapshot resources, let the test change them, then put back and verify those that changed.
        A network resource (9.1, "at least 5 seconds between 2 configuration requests") is left to the
        session's restore, which batches them into one write (restore.py Rule 4), unless `network_later`
        is False."""
        before = {p: self.read(p)[0] for p in paths}
        try:
            yield before
        finally:
            back = {}
            for path, doc in before.items():
                if network_later and left_to_session_restore(path):
                    continue
                if comparable(self.read(path)[0], CLOCK_FIELDS) != comparable(doc, CLOCK_FIELDS):
                    self.write(path, doc)
                    back[path] = doc
            for path, doc in back.items():
                after = self.read(path)[0]
                checks.expect(
                    comparable(after, CLOCK_FIELDS) == comparable(doc, CLOCK_FIELDS),
                    f"kept {path} changed after restoring it",
                    "PUT of the original document restores it (4.5.4)",
                    "4.5.4",
                    self.client.exchanges[-1],
                )

    # -- what the discovery suite needs ------------------------------------------------
    @property
    def user(self) -> str:
        return self.settings.user

    @property
    def password(self) -> str:
        return self.settings.password

    @property
    def timeout(self) -> float:
        return self.settings.timeout

    @property
    def discovery_port(self) -> int:
        return self.sim.ports["discovery"] if self.sim is not None else self.settings.discovery_port

    @property
    def discovery_iface(self) -> str | None:
        return self.settings.discovery_iface

    @property
    def ssdp_port(self) -> int:
        return self.sim.ports["ssdp"] if self.sim is not None else self.settings.ssdp_port

    @property
    def mac(self) -> str:
        """The wired interface's MAC as REST reports it (9.1.7.1.1)."""
        if "_mac" not in self.__dict__:
            self.__dict__["_mac"] = str(self.get_doc("/Network/Interfaces/1/IPAddress").get("MacAddress", ""))
        return self.__dict__["_mac"]

    @property
    def known_mac(self) -> str:
        """The MAC if it was read already, else "" (never a request)."""
        return str(self.__dict__.get("_mac", ""))

    @property
    def picked_ports(self) -> frozenset[str]:
        """Ports the kit itself chose (the built-in camera binds free ports): not the camera's API shape."""
        return frozenset(str(p) for p in self.sim.ports.values() if p) if self.sim is not None else frozenset()

    @property
    def lab(self) -> Lab | None:
        """The reference camera's lab (lab.py), asked once on first use; None on a real camera."""
        if "_lab" not in self.__dict__:
            from pytest_bview.lab import Lab

            self.__dict__["_lab"] = Lab.probe(self)
        return self.__dict__["_lab"]

    @property
    def audio_loopback(self) -> bool:
        """What the speaker plays comes back on ReceiveData (the built-in camera; a lab rig otherwise)."""
        return self.sim is not None

    def ssl_context(self) -> ssl.SSLContext:
        """For a suite's own https connections: the same certificate checks as the client's."""
        verify = self.client.session.verify
        return ssl_context(True if verify is None else verify)

    def get_doc(self, path: str) -> dict[str, Any]:
        return self.read(path)[0]

    def rtsp_url(self, stream_id: int) -> str:
        return f"rtsp://{urlhost(self.host)}:{self.rtsp_port}{RTSP_PATHS[stream_id]}"


def device_key(identity: dict[str, str]) -> str:
    """One camera at one firmware: what reports and restore verdicts are filed under."""
    return "|".join(identity.get(k, "") for k in ("DeviceTypeName", "SoftWareVersion", "SerialNum"))


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__).removeprefix("device: ")


def _scheme_hint(settings: Settings, error: str) -> str:
    if settings.scheme == "http" and any(w in error.lower() for w in ("reset", "aborted", "bad status", "remote end")):
        return " (is it an https port? then --bview-scheme https)"
    return ""


def _sim_identity(settings: Settings, identity: Any = None) -> Any:
    """The built-in camera's Identity: the given one (fleet runs) or the default with --bview-sim-firmware, and
    always the session's credentials (--bview-user, --bview-password / BVIEW_PASSWORD): it is started with them."""
    import dataclasses

    from pytest_bview.simulator.device import Identity

    if identity is None:
        firmware = getattr(settings, "sim_firmware", None)
        identity = Identity(firmware=firmware) if firmware else Identity()
    return dataclasses.replace(identity, user=settings.user, password=settings.password)


def _verify(settings: Settings, sim: Any) -> bool | str:
    """requests' `verify`: certificates are checked unless --bview-insecure; against --bview-ca when given,
    else the built-in camera's own self-signed certificate (https), else the system's CAs."""
    if settings.insecure:
        return False
    certificate = getattr(getattr(sim, "camera", None), "certificate", None)
    return settings.ca or (str(certificate) if certificate else True)
