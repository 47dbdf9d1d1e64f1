"""The reference camera's firmware logic, independent of any transport.

`Device` answers resource reads and writes as the spec describes; `http.py` puts it on
HTTP/1.1, `rtsp.py` and `discovery.py` on their protocols. Time-based behaviour (network
settle, calibration, reboot) uses `Device.scaled(seconds)` so that `--time-scale` shrinks
every device-imposed duration in one place.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pytest_bview.simulator import faults as F
from pytest_bview.simulator.config import (
    ApiError,
    Doc,
    check_rules,
    concrete,
    decode,
    local,
    merge,
    nested_get,
    nested_set,
    own_fields,
    parse_xml,
    parts_of,
    strip_wo,
)
from pytest_bview.simulator.factory import USERS, factory_defaults
from pytest_bview.simulator.state import Store, copy_doc
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.facts import MAX_LOG_ENTRIES, NETWORK_SETTLE_S, RTSP_PATHS
from pytest_bview.spec.model import DATETIME_RE
from pytest_bview.spec.permissions import KEPT_SECRETS
from pytest_bview.spec.resources import BY_TEMPLATE, Instances, Resource
from pytest_bview.spec.status import Status
from pytest_bview.spec.streams import STREAMS

log = logging.getLogger("bview.sim")

MAX_USERS = 16
ADMIN_LEVEL = "Adminstrator"  # spelled as the spec spells it (9.2.12, ERRATA.md)

# -- fault profiles of the configuration engine ------------------------------------------------
RO_APPLIED = F.declare(
    "config-ro-field-applied",
    "6.1.2",
    "read-only fields in a PUT are stored instead of ignored",
    "ro-ignored",
)
WO_LEAKED = F.declare(
    "config-wo-field-returned",
    "6.1.2",
    "write-only fields (passwords) appear in GET responses",
    "password-not-retrieved",
)
WIFI_KEY_READABLE = F.declare(
    "sec-wifi-key-readable",
    "9.1.7.1.3",
    "GET of the wireless settings returns the stored WiFi key (KeyValue, KeyValueB64) instead of leaving it empty",
    "sec-wifi-key-readable",
)
NO_PARTIAL = F.declare(
    "config-partial-update-resets",
    "6.1.1",
    "fields left out of a PUT are reset to factory values",
    "partial-update",
)
NO_RANGE = F.declare(
    "config-range-unchecked",
    "9",
    "values outside the spec's ranges and enumerations are accepted",
    "domain-any-value-refused",
)
BAD_STATUS_ON_RANGE = F.declare(
    "config-range-wrong-status",
    "7",
    "an out-of-range value is refused with -1 instead of -5",
    "domain-value-refused",
)
HALF_APPLIED = F.declare(
    "config-error-half-applied",
    "7",
    "a PUT refused with -5 still applies its valid fields",
    "domain-value-refused",
)
ROUND_TRIP_LOST = F.declare(
    "config-put-not-stored",
    "4.5.4",
    "PUT answers 0 but the value is not stored (GET returns the old one)",
    "put-configuration",
)
NO_SETTLE = F.declare(
    "network-settle-ignored",
    "9.1",
    "network writes inside the 5 s window are applied instead of -14",
    "network-write-early-busy",
)
WRONG_CHANNEL_OK = F.declare(
    "channel-unchecked",
    "7",
    "a wrong channel identifier is answered like channel 1 instead of -4",
    "wrong-channel",
)
MALFORMED_OK = F.declare(
    "xml-malformed-accepted",
    "7",
    "malformed XML in a PUT is answered 0 instead of -1",
    "xml-malformed-refused",
)
ROOT_MISMATCH_OK = F.declare(
    "xml-root-unchecked",
    "7",
    "an XML block that does not match the URL is accepted instead of -1",
    "xml-url-mismatch-refused",
)
SCHEMA_INVALID = F.declare(
    "schema-missing-required",
    "9.6.1.3",
    "GET /Images/1/Color omits the required <Hue>",
    "xml-namespace",
    ("GET /Images/1/Color",),
)
SCHEMA_BAD_ENUM = F.declare(
    "schema-bad-enum",
    "9.6.1.2",
    "GET /Images/1/Basic returns NoiseReduce 'medium' (not in the enumeration)",
    "xml-namespace",
    ("GET /Images/1/Basic",),
)
STATUS_BITRATE_STALE = F.declare(
    "status-bitrate-stale",
    "9.2.5.1",
    "DeviceStatus reports the factory bit rates, not the configured ones",
    "device-status-bitrates",
)
PTZ_BUSY = F.declare(
    "ptz-calibration-not-busy",
    "9.12.1",
    "image and PTZ settings are accepted during autofocus calibration",
    "ptz-calibration-busy",
)
# -- issue 3: configuration conformance ------------------------------------------------------------
WO_EMPTY_CLEARS = F.declare(
    "config-wo-empty-clears",
    "6.1.2",
    "a PUT with an empty password field erases the stored password instead of keeping it",
    "password-empty-keeps",
)
WO_CHANGED_RETURNED = F.declare(
    "config-wo-changed-returned",
    "6.1.2",
    "a write-only field of a resource without identifiers changed from its factory value (a password just set) "
    "is returned by GET; only factory values are left out",
    "password-not-retrieved",
    ("PUT /Network/DDNS/Config", "PUT /Network/FTP", "PUT /Network/EMail"),
)
USERS_N_IS_ID = F.declare(
    "users-n-is-id",
    "9.2.12",
    "GET /System/Users/N returns the user with ID N instead of ID N-1",
    "users-n-is-id-plus-one",
)
LOG_GENERIC = F.declare(
    "log-config-generic-type",
    "9.2.10",
    "every configuration change is logged as 2/102 (normal settings) whatever it changed",
    "log-operation-types",
    ("network settings 2/104",),
)
LOG_UNBOUNDED = F.declare(
    "log-unbounded",
    "9.2.10",
    "the log keeps more than 1000 entries",
    "log-at-most-1000",
)
CLOCK_FROZEN = F.declare(
    "time-clock-frozen",
    "9.2.1",
    "SystemTime stands still after it was set",
    "time-clock-runs",
)
TIME_SET_IGNORED = F.declare(
    "time-set-ignored",
    "9.2.1",
    "PUT /System/Time answers 0 but the clock is not set",
    "system-time-iso8601",
)
TIME_OFFSET_IGNORED = F.declare(
    "time-offset-ignored",
    "9.2.1",
    "the UTC offset of an ISO 8601 SystemTime (+08) is ignored",
    "system-time-iso8601",
    ("compact +08",),
)
SETTLE_TOO_LONG = F.declare(
    "network-settle-too-long",
    "9.1",
    "network writes 5 s apart are still refused with -14 (the device needs 8 s)",
    "network-write-paced-accepted",
)
TIME_PARTIAL_RESETS_CLOCK = F.declare(
    "time-partial-put-sets-clock",
    "9.2.1",
    "a PUT /System/Time without <SystemTime> sets the clock back to the factory placeholder (2024-01-01)",
    "time-partial-put-keeps-clock",
)
COLLECTION_GET_STALE = F.declare(
    "collection-get-stale",
    "9.6",
    "GET of a collection (/Images, /Pictures, /Streams, /Network) embeds factory values, not the parts' current ones",
    "collection-get-parts",
)
COLLECTION_PUT_PARTIAL = F.declare(
    "collection-put-first-part-only",
    "9.6",
    "a PUT to a collection stores only the first part it carries",
    "collection-put-parts",
)
# rules.py: cross-field rule function name -> the fault that switches it off;
# fault -> element paths whose domain errors that fault lets through
RULE_FAULTS: dict[str, str] = {}
DOMAIN_FAULTS: dict[str, re.Pattern[str]] = {}
# fault -> (element paths, values a lax firmware takes there although the domain excludes them)
LAX_DOMAIN_FAULTS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {}
COLLECTIONS = ("/Network", "/Images", "/Pictures", "/Streams")


@dataclass(frozen=True)
class Identity:
    model: str = "BV-IPC2-5MP"
    firmware: str = "2.0.0"
    hardware: str = "HW-1.2"
    serial: str = "BV2A00012345"
    mac: str = "00:1A:2B:3C:4D:5E"
    ip: str = "127.0.0.1"
    user: str = "admin"
    password: str = "admin"

    def as_mapping(self, http_port: int, rtsp_port: int) -> dict[str, str]:
        return {
            "model": self.model,
            "firmware": self.firmware,
            "hardware": self.hardware,
            "serial": self.serial,
            "mac": self.mac,
            "ip": self.ip,
            "user": self.user,
            "password": self.password,
            "http_port": str(http_port),
            "rtsp_port": str(rtsp_port),
        }


@dataclass(frozen=True)
class Caller:
    """Who is asking, as the transport saw it (for logs, RTSPURI and permissions)."""

    user: str
    level: str
    address: str = "127.0.0.1"
    host: str = "127.0.0.1"  # the host name or address the client used to reach the device


Computed = Callable[["Device", str, Doc, Caller], Doc]
COMPUTED: dict[str, Computed] = {}


def computed(block: str) -> Callable[[Computed], Computed]:
    """Fill the computed fields of a block on GET (clock, RTSPURI, status values)."""

    def deco(fn: Computed) -> Computed:
        COMPUTED[block] = fn
        return fn

    return deco


class Device:
    def __init__(
        self,
        state_dir: Path | None,
        identity: Identity,
        faults: F.Faults,
        time_scale: float = 1.0,
        http_port: int = 80,
        rtsp_port: int = 554,
        instances: Instances | None = None,
    ) -> None:
        self.identity = identity
        self.faults = faults
        self.time_scale = time_scale
        self.http_port = http_port
        self.rtsp_port = rtsp_port
        self.instances = instances or Instances()
        self.booted_at = time.monotonic()
        self._lock = threading.RLock()
        self._network_ready_at = 0.0
        self.store = Store(state_dir, lambda: factory_defaults(self.identity_mapping()))
        self.listeners: list[Callable[[str, Doc], None]] = []  # (key, new doc) after each commit
        self.log_failures = 0  # log entries whose write failed (disk full): http.py tells the client
        self.log_problem = ""
        self._repair_users()

    def _repair_users(self) -> None:
        """A user list that is not one (written by an older, laxer import) never locks everyone out: entries that
        are not users are dropped and a missing admin (ID 0) comes back with the factory password, said in the log."""
        stored = (self.store.view(USERS) or {}).get("User")
        good = self.users()
        has_admin = any(u.get("ID") == "0" for u in good)
        if isinstance(stored, list) and len(good) == len(stored) and has_admin:
            return
        if not has_admin:
            good.insert(0, factory_defaults(self.identity_mapping())[USERS]["User"][0])
        log.error("the stored user list was damaged: %d entries kept, admin present: %s", len(good), has_admin)
        self.store.commit(resources={USERS: {"User": good}})

    def identity_mapping(self) -> dict[str, str]:
        return self.identity.as_mapping(self.http_port, self.rtsp_port or 554)

    def sync_ports(self) -> None:
        """/Network/Port tells the ports the device really listens on (RTP = the RTSP port, ERRATA.md)."""
        port = self.store.get("/Network/Port")
        if port is None:
            return
        wanted = {**port, "HTTP": str(self.http_port)}
        if self.rtsp_port:
            wanted["RTP"] = str(self.rtsp_port)
        if wanted != port:
            self.store.commit(resources={"/Network/Port": wanted})

    # -- time -----------------------------------------------------------------------------
    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

    def now(self) -> datetime:
        offset = float(self.store.extra("clock_offset_s", 0.0))
        return datetime.now(UTC) + timedelta(seconds=offset)

    def set_clock(self, when: datetime) -> None:
        self.store.commit(extra={"clock_offset_s": (when - datetime.now(UTC)).total_seconds()})

    # -- users ----------------------------------------------------------------------------
    def users(self) -> list[Doc]:
        """The stored users; an entry that is not a user (a state written by an older, laxer import) is skipped."""
        return [u for u in (self.store.get("/System/Users") or {}).get("User", []) if isinstance(u, dict)]

    def authenticate(self, user: str, password: str) -> Doc | None:
        # every request authenticates: search the stored list without copying it, copy only the match;
        # an empty stored password never matches (a user whose password is unknown cannot log in)
        for u in (self.store.view("/System/Users") or {}).get("User", []):
            if isinstance(u, dict) and u.get("UserName") == user and u.get("Password") == password and password:
                return copy_doc(u)
        return None

    def password_of(self, user: str) -> str | None:
        for u in self.users():
            if u.get("UserName") == user:
                return str(u.get("Password", ""))
        return None

    def calibrating(self) -> bool:
        """9.12.1: during autofocus calibration "do not send other image or PTZ setting commands"."""
        until = float(self.store.extra("calibration_until", 0.0))
        return time.time() < until and not self.faults.on(PTZ_BUSY)

    # -- log ------------------------------------------------------------------------------
    def log_event(self, major: int, minor: int, caller: Caller | None, channel: int = 1) -> None:
        with self._lock:
            entries = self.store.extra("log", [])
            next_id = (entries[-1]["ID"] + 1) if entries else 1
            entries.append(
                {
                    "ID": next_id,
                    "time": self.now().strftime("%Y-%m-%dT%H:%M:%S"),
                    "majorType": major,
                    "minorType": minor,
                    "netUser": caller.user if caller else "system",
                    "hostIPAddress": caller.address if caller else "",
                    "channel": channel,
                }
            )
            kept = entries if self.faults.on(LOG_UNBOUNDED) else entries[-MAX_LOG_ENTRIES:]
            try:
                self.store.commit(extra={"log": kept}, keep=True)
            except OSError as exc:
                # the change it records is saved already: the entry waits in memory for the next write (state.py
                # Rule 4) and the answer says so (http.py), instead of a failure for a change that was made
                self.log_failures += 1
                self.log_problem = f"the log entry could not be written ({exc.strerror or exc}); it is kept in memory"
                log.error("log %d/%d not written: %s", major, minor, exc)

    # -- parameters -------------------------------------------------------------------------
    def check_params(self, resource: Resource, params: Mapping[str, str]) -> dict[str, int]:
        """URL identifiers must name something the device has (-4), wireless only on card 2 (-3)."""
        out: dict[str, int] = {}
        for name, raw in params.items():
            if not raw.isdigit():
                raise ApiError(Status.WRONG_CHANNEL, f"{name} {raw!r} is not a number")
            value = int(raw)
            if name == "N":
                allowed = tuple(int(u["ID"]) + 1 for u in self.users())
            else:
                allowed = getattr(self.instances, name)
                if name == "ChannelID" and self.faults.on(WRONG_CHANNEL_OK):
                    value = allowed[0]
                if value in allowed and value not in self.instances.choices(resource, name):
                    raise ApiError(
                        Status.UNSUPPORTED_OPERATION,
                        f"{resource.template} does not exist for {name} {value} (wireless: card 2; RTSP: streams 1-2)",
                    )
            if value not in allowed:
                raise ApiError(
                    Status.WRONG_CHANNEL,
                    f"{name} {value} does not exist on this device (valid: {', '.join(map(str, allowed))})",
                )
            out[name] = value
        return out

    def part_values(self, param: str, resource: Resource) -> tuple[int, ...]:
        if param == "N":
            return tuple(int(u["ID"]) + 1 for u in self.users())
        return self.instances.choices(resource, param)

    # -- read -----------------------------------------------------------------------------
    def read(self, resource: Resource, params: Mapping[str, int], caller: Caller, stale: bool = False) -> Doc:
        """The document GET returns (write-only fields still present: `output` strips them)."""
        key = concrete(resource, params)
        stale = stale or (resource.template in COLLECTIONS and self.faults.on(COLLECTION_GET_STALE))
        if resource.template == "/System/Users/{N}":
            first = 0 if self.faults.on(USERS_N_IS_ID) else 1
            doc = next((u for u in self.users() if int(u["ID"]) == params["N"] - first), {})
        else:
            stored = self.store.get(key) or {}
            if stale:
                stored = factory_defaults(self.identity_mapping()).get(key, stored)
            if resource.parts:
                own = own_fields(resource)
                doc = {k: v for k, v in stored.items() if k in own}
            else:
                doc = stored
        for part in parts_of(resource):
            if part.free_param is None:
                if self.instances.has(part.resource, dict(params)):
                    nested_set(doc, part.element_path, self.read(part.resource, params, caller, stale))
            else:
                items = [
                    self.read(part.resource, {**params, part.free_param: v}, caller, stale)
                    for v in self.part_values(part.free_param, part.resource)
                ]
                nested_set(doc, part.element_path, items)
        hook = COMPUTED.get(resource.block or "")
        if hook is not None:
            doc = hook(self, key, doc, caller)
        if resource.params and resource.template != "/System/Users/{N}" and "ID" in _child_names(resource):
            doc["ID"] = str(params[resource.params[-1]])
        return doc

    def output(self, resource: Resource, doc: Doc) -> Doc:
        block = BLOCKS[resource.block]  # type: ignore[index]
        if self.faults.on(WO_LEAKED):
            return doc
        if self.faults.on(WO_CHANGED_RETURNED) and not resource.params:
            factory = factory_defaults(self.identity_mapping()).get(resource.template) or {}
            return _strip_factory_wo(doc, factory, block.root)
        return strip_wo(doc, block.root, keep_secrets=self.faults.on(WIFI_KEY_READABLE))

    # -- write ----------------------------------------------------------------------------
    def write(self, resource: Resource, params: Mapping[str, int], body: bytes, caller: Caller) -> None:
        """PUT of a configuration resource: all parts validated, then committed at once."""
        block = BLOCKS[resource.block]  # type: ignore[index]
        try:
            element = parse_xml(body)
        except ApiError:
            if self.faults.on(MALFORMED_OK):
                return
            raise
        if local(element.tag) != block.element and self.faults.on(ROOT_MISMATCH_OK):
            return
        decoded = decode(block, element)
        decoded.errors = [e for e in decoded.errors if not self._domain_excused(e, decoded.doc)]
        if decoded.errors and not self.faults.on(NO_RANGE):
            if self.faults.on(HALF_APPLIED):
                self._apply_valid_fields(resource, params, decoded.doc, caller)
            code = Status.XML_URL_MISMATCH if self.faults.on(BAD_STATUS_ON_RANGE) else Status.PARAMETER_ERROR
            raise ApiError(code, "; ".join(decoded.errors))
        if self.faults.on(RO_APPLIED):
            decoded.doc = _with_read_only(block, element, decoded.doc)
        updates = self._split(resource, params, decoded.doc)
        if resource.parts and self.faults.on(COLLECTION_PUT_PARTIAL):
            updates = updates[:1]
        if resource.area == "images" and self.calibrating():
            raise ApiError(Status.BUSY, "autofocus calibration in progress (9.12.1)")
        if resource.has("network"):
            self._claim_network_window()
        self.commit_updates(updates, caller)
        major, minor = LOG_TYPES.get(resource.area, (2, 102))
        self.log_event(major, 102 if self.faults.on(LOG_GENERIC) and major == 2 else minor, caller)

    def _domain_excused(self, error: str, doc: Doc | None = None) -> bool:
        """A domain fault of rules.py lets errors under its element paths through (a lax one: some values only)."""
        m = re.match(r"<([^>]+)>", error)
        if not m:
            return False
        if any(self.faults.on(f) and rx.search(m.group(1)) for f, rx in DOMAIN_FAULTS.items()):
            return True
        for fault, (paths, values) in LAX_DOMAIN_FAULTS.items():
            if self.faults.on(fault) and paths.search(m.group(1)):
                value = nested_get(doc or {}, m.group(1).split("/")[1:])
                if isinstance(value, str) and values.fullmatch(value):
                    return True
        return False

    def _rule_off(self, name: str) -> bool:
        fault = RULE_FAULTS.get(name)
        return fault is not None and self.faults.on(fault)

    def commit_updates(self, updates: list[tuple[Resource, str, Doc]], caller: Caller) -> None:
        new_docs: dict[str, Doc] = {}
        for res, key, partial in updates:
            blk = BLOCKS[res.block]  # type: ignore[index]
            stored = self.store.get(key)
            if stored is None:
                raise ApiError(Status.WRONG_CHANNEL, f"{key} does not exist on this device")
            base = factory_defaults(self.identity_mapping()).get(key, stored) if self.faults.on(NO_PARTIAL) else stored
            # a camera that shows the WiFi key takes an empty one as a value, as the spec's words read (9.1.7.1.3)
            new = merge(base, partial, blk.root, frozenset() if self.faults.on(WIFI_KEY_READABLE) else KEPT_SECRETS)
            if self.faults.on(WO_EMPTY_CLEARS):
                new = _clear_empty_wo(new, partial, blk.root)
            if not self.faults.on(NO_RANGE):
                problems = check_rules(blk, new, stored, skip=self._rule_off)
                if problems:
                    raise ApiError(Status.PARAMETER_ERROR, "; ".join(problems))
            new_docs[key] = new
        if self.faults.on(ROUND_TRIP_LOST):
            return
        for key, doc in new_docs.items():
            hook = ON_COMMIT.get(key)
            if hook is not None:
                hook(self, doc)
        self.store.commit(resources=new_docs)
        for key, doc in new_docs.items():
            for listener in self.listeners:
                listener(key, doc)

    def _apply_valid_fields(self, resource: Resource, params: Mapping[str, int], doc: Doc, caller: Caller) -> None:
        """Fault HALF_APPLIED: keep what passed the checks, as a careless firmware would."""
        block = BLOCKS[resource.block]  # type: ignore[index]
        valid = {
            k: v
            for k, v in doc.items()
            if (f := block.root.child(k)) and f.kind != "struct" and f.check(str(v)) is None
        }
        try:
            self.commit_updates(self._split(resource, params, valid), caller)
        except ApiError:
            pass

    def _split(self, resource: Resource, params: Mapping[str, int], doc: Doc) -> list[tuple[Resource, str, Doc]]:
        """Spread a (collection) document over the resources that store it."""
        block = BLOCKS[resource.block]  # type: ignore[index]
        if "ID" in doc and resource.params and resource.template != "/System/Users/{N}":
            if doc["ID"] != str(params[resource.params[-1]]):
                raise ApiError(
                    Status.XML_URL_MISMATCH,
                    f"<ID>{doc['ID']}</ID> does not match the URL's {resource.params[-1]} "
                    f"{params[resource.params[-1]]}",
                )
        key = concrete(resource, params)
        own_names = own_fields(resource)
        own = {k: v for k, v in doc.items() if k in own_names and k != "ID"}
        out: list[tuple[Resource, str, Doc]] = [(resource, key, own)] if own else []
        for part in parts_of(resource):
            value = nested_get(doc, part.element_path)
            if value is None:
                continue
            if part.free_param is None:
                out.extend(self._split(part.resource, params, value))
                continue
            for item in value:
                raw = item.get("ID")
                if raw is None or raw == "":
                    raise ApiError(
                        Status.REQUIRED_TAG_MISSING,
                        f"<{'/'.join(part.element_path)}> item without <ID> in <{block.element}>",
                    )
                if not str(raw).isdigit() or int(raw) not in self.part_values(part.free_param, part.resource):
                    raise ApiError(Status.WRONG_CHANNEL, f"{part.free_param} {raw} does not exist on this device")
                out.extend(self._split(part.resource, {**params, part.free_param: int(raw)}, item))
        return out

    def _claim_network_window(self) -> None:
        with self._lock:
            now = time.monotonic()
            if now < self._network_ready_at and not self.faults.on(NO_SETTLE):
                wait = self._network_ready_at - now
                raise ApiError(
                    Status.BUSY,
                    f"network configuration is still being stored; retry in {wait:.2f} s "
                    f"(9.1: at least 5 s between 2 configuration requests)",
                )
            settle = NETWORK_SETTLE_S * (1.6 if self.faults.on(SETTLE_TOO_LONG) else 1.0)
            self._network_ready_at = now + self.scaled(settle)


def _clear_empty_wo(doc: Doc, partial: Doc, spec: Any) -> Doc:
    """Fault WO_EMPTY_CLEARS: an empty write-only field overwrites the stored secret."""
    for name, value in partial.items():
        f = spec.child(name)
        if f is None or f.repeated:
            continue
        if f.kind == "struct" and isinstance(value, dict):
            doc[name] = _clear_empty_wo(doc.get(name) or {}, value, f)
        elif f.access == "wo" and value == "":
            doc[name] = ""
    return doc


def _strip_factory_wo(doc: Doc, factory: Doc, spec: Any) -> Doc:
    """Fault WO_CHANGED_RETURNED: write-only fields are left out only while empty or at their factory value."""
    out: Doc = {}
    for name, value in doc.items():
        f = spec.child(name)
        if f is None or (f.access == "wo" and value in ("", None, factory.get(name))):
            continue
        if f.kind == "struct":
            out[name] = (
                [strip_wo(v, f) for v in value] if f.repeated else _strip_factory_wo(value, factory.get(name) or {}, f)
            )
        else:
            out[name] = value
    return out


def _child_names(resource: Resource) -> set[str]:
    return {f.name for f in BLOCKS[resource.block].root.children} if resource.block else set()


def _with_read_only(block: Any, element: Any, doc: Doc) -> Doc:
    """Fault RO_APPLIED: take top-level ro leaves from the body as if they were writable."""
    out = dict(doc)
    for child in element:
        if not isinstance(child.tag, str):
            continue
        f = block.root.child(local(child.tag))
        if f is not None and f.access == "ro" and f.kind != "struct":
            out[f.name] = (child.text or "").strip()
    return out


def _commit_time(device: Device, doc: Doc) -> None:
    """PUT /System/Time sets the clock; SystemTime itself is never stored (it keeps running)."""
    text = doc.pop("SystemTime", "")
    # a PUT without <SystemTime> keeps the clock: the merged document then carries the stored placeholder
    if not text or text == (device.store.get("/System/Time") or {}).get("SystemTime"):
        if device.faults.on(TIME_PARTIAL_RESETS_CLOCK):
            factory = factory_defaults(device.identity_mapping())["/System/Time"]["SystemTime"]
            device.set_clock(parse_iso8601(factory))
        return
    if text and not device.faults.on(TIME_SET_IGNORED):
        when = parse_iso8601(text)
        if device.faults.on(TIME_OFFSET_IGNORED):
            when = parse_iso8601(DATETIME_RE.fullmatch(text.strip()).group(1))  # type: ignore[union-attr]
        device.set_clock(when)


ON_COMMIT: dict[str, Callable[[Device, Doc], None]] = {"/System/Time": _commit_time}


def parse_iso8601(text: str) -> datetime:
    """The spec's ISO 8601 forms: 2004-05-03T17:30:08Z, 20040503T173008+08, with or without offset."""
    m = DATETIME_RE.fullmatch(text.strip())
    if not m:
        raise ApiError(Status.PARAMETER_ERROR, f"{text!r} is not an ISO 8601 date-time")
    core = m.group(1).replace("-", "").replace(":", "")
    when = datetime.strptime(core, "%Y%m%dT%H%M%S")
    tz = m.group(3)
    if tz in (None, "Z"):
        return when.replace(tzinfo=UTC)
    sign = 1 if tz[0] == "+" else -1
    digits = tz[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return (when - sign * offset).replace(tzinfo=UTC)


# 9.2.10 log types for configuration changes, by area
LOG_TYPES: dict[str, tuple[int, int]] = {
    "network": (2, 104),
    "images": (2, 111),
    "streams": (2, 103),
    "pictures": (2, 106),
    "system": (2, 102),
    "record": (2, 101),
    "alarm": (2, 113),
    "events": (2, 105),
    "disk": (7, 600),
}


# -- computed fields ------------------------------------------------------------------------------


@computed("Time")
def _time(device: Device, key: str, doc: Doc, caller: Caller) -> Doc:
    now = device.now()
    if device.faults.on(CLOCK_FROZEN):
        now = datetime.fromtimestamp(int(now.timestamp()) // 3600 * 3600, UTC)  # stuck at the hour
    doc["SystemTime"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return doc


@computed("Transport")
def _transport(device: Device, key: str, doc: Doc, caller: Caller) -> Doc:
    # 9.4.1.2.1: the address the client used, never an internal one (issue 4)
    path = RTSP_PATHS[1 if "/1/Transport" in key else 2]
    doc["RTSPURI"] = f"rtsp://{caller.host}:{device.rtsp_port}{path}"
    return doc


@computed("Color")
def _color(device: Device, key: str, doc: Doc, caller: Caller) -> Doc:
    if device.faults.on(SCHEMA_INVALID):
        doc.pop("Hue", None)
    return doc


@computed("Basic")
def _basic(device: Device, key: str, doc: Doc, caller: Caller) -> Doc:
    if device.faults.on(SCHEMA_BAD_ENUM):
        doc["NoiseReduce"] = "medium"
    return doc


@computed("DeviceStatus")
def _device_status(device: Device, key: str, doc: Doc, caller: Caller) -> Doc:
    streams = {i: device.store.get(f"/Streams/1/{i}") or {} for i in (1, 2, 4)}
    if device.faults.on(STATUS_BITRATE_STALE):
        streams = {i: {"Bitrate": str(s.default_bitrate_kbps or 0)} for i, s in STREAMS.items()}
    return {
        "ID": "1",
        "MainStreamVideoBitrate": streams[1].get("Bitrate", "0"),
        "FirstSubStreamEnable": "true",
        "FirstSubStreamVideoBitrate": streams[2].get("Bitrate", "0"),
        "SecondSubStreamEnable": "true",
        "SecondSubStreamVideoBitrate": streams[4].get("Bitrate", "0") or "0",
        "RecordState": "none",
        "VideoLostState": "false",
        "MotionState": "false",
        "AlarmInState": "false",
        "AlarmOutState": "false",
    }


@computed("LogList")
def _log_list(device: Device, key: str, doc: Doc, caller: Caller) -> Doc:
    return {"Log": [{k: str(v) for k, v in e.items()} for e in device.store.extra("log", [])]}


__all__ = ["Device", "Identity", "Caller", "ApiError", "BY_TEMPLATE"]
