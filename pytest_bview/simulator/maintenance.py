"""Maintenance of the reference camera: reboot (9.2.7), factory default (9.2.8), firmware upgrade
(9.2.6), configuration file (9.2.3 /System/DeviceConfigFile), automatic maintenance (9.2.4
DeviceAutoMaintenance), format (9.10.4, 9.11) and the restart after /Network/Port and /Network/P2P
("the device will be restarted after saving the configuration", 9.1.4, 9.1.5).

Rule 1: answer first, then act. A restart is a task started after the ResponseStatus is on the wire;
        it goes through `Camera.reboot`: every service stops, the scaled boot time passes, they start
        again on the ports /Network/Port names and the Device is reloaded from the state directory.
Rule 2: a refused package or configuration file changes nothing: it is checked whole before anything
        is written, and an import is one `Store.replace` (atomic: old or new, never a mix).
Rule 3: what the camera is survives everything: the installed firmware version (store extra
        "firmware"), and through a factory default or a configuration import the admin password and
        the wired network identity (address, DHCP, ports) (ERRATA.md L15-L20).

Package format (`make_package`, `bview-sim make-firmware`): a 104-byte header, then the content.

    offset size  field
    0      8     magic b"BVFWPKG2"
    8      2     header version (1), big-endian
    10     2     header size (104)
    12     32    model (DeviceTypeName), ASCII, NUL-padded
    44     16    version (SoftWareVersion, digits and dots), ASCII, NUL-padded
    60     8     content length in bytes
    68     32    SHA-256 of the content
    100    4     CRC-32 of bytes 0-99

Configuration file format (GET/PUT /System/DeviceConfigFile): b"BVCONF01", payload length (4 bytes,
big-endian), SHA-256 of the payload (32 bytes), payload = zlib of JSON lines: first a meta object
(model, serial, firmware), then one [path, document] per stored resource in path order. Secrets (write-only
fields, passwords, WiFi keys) are blank in the documents; the meta's "secrets" holds them sealed with the
administrator's password (scrypt, AES-256-GCM) (ERRATA.md S2). The payload inflates to at most 4 MiB.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import json
import logging
import os
import re
import struct
import time
import weakref
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pytest_bview.protocol.xmlblocks import to_xml
from pytest_bview.simulator import faults as F
from pytest_bview.simulator.config import (
    MAX_CONFIG_BYTES,
    ApiError,
    check_rules,
    decode,
    merge,
    own_fields,
    parse_xml,
)
from pytest_bview.simulator.device import (
    ADMIN_LEVEL,
    COMPUTED,
    MAX_USERS,
    ON_COMMIT,
    Caller,
    Device,
    computed,
    parse_iso8601,
)
from pytest_bview.simulator.extensions import BEFORE_RESTART, RESTART_ON_SAVE, STARTUP_HOOKS
from pytest_bview.simulator.factory import USERS, factory_defaults
from pytest_bview.simulator.http import CAMERA, MIDDLEWARES, Ctx, handles, status_response, xml_response
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.facts import DEVICE_INFO_WRITABLE, NETWORK_IDENTITY
from pytest_bview.spec.model import Field
from pytest_bview.spec.resources import match
from pytest_bview.spec.status import Status

if TYPE_CHECKING:
    from pytest_bview.simulator.camera import Camera

log = logging.getLogger("bview.sim.maintenance")

BOOT_S = 20.0  # a camera takes about 20 s from power-on to answering HTTP
FLASH_S = 60.0  # writing a package to flash before the reboot that activates it
FORMAT_S = 30.0  # quick format of the SD card (9.10.4)
MAINTENANCE_TICK_S = 30.0  # how often the auto-maintenance scheduler looks at the clock (9.2.4)
ANSWER_FIRST_S = 0.05  # let the ResponseStatus reach the client before the services stop

DEVICE_INFO = "/System/DeviceInfo"
# extras a factory default keeps: the flash (firmware), the real-time clock, the log
FACTORY_KEEPS_EXTRA = ("firmware", "clock_offset_s", "log")


# -- fault profiles --------------------------------------------------------------------------------------
CONFIG_CLEAR_SECRETS = F.declare(
    "sec-configfile-clear-secrets",
    "9.2.3",
    "the exported configuration file carries every secret (user passwords, WiFi key...) in clear text, unsealed",
    "sec-configfile-secrets",
)
REBOOT_LOSES = F.declare(
    "reboot-loses-setting",
    "9.2.7",
    "a reboot puts /Images/1/Color back to its factory values",
    "reboot-keeps-configuration",
)
REBOOT_IGNORED = F.declare(
    "reboot-ignored",
    "9.2.7",
    "PUT /System/Reboot answers 0 and the camera never goes away",
    "reboot-restarts",
)
FACTORY_KEEPS_USER = F.declare(
    "factory-default-keeps-user",
    "9.2.8",
    "a factory default leaves the Normal users behind",
    "factory-default-users",
)
FACTORY_KEEPS_STREAMS = F.declare(
    "factory-default-keeps-streams",
    "9.2.8",
    "a factory default leaves the stream configuration (chapter 8 defaults) as it was",
    "factory-default-values",
)
FW_HEADER_ONLY = F.declare(
    "firmware-header-only",
    "9.2.6",
    "only the package header is checked: truncated and corrupt packages are installed",
    "firmware-bad-package-refused",
    ("truncated", "corrupt"),
)
FW_MODEL_OK = F.declare(
    "firmware-model-unchecked",
    "9.2.6",
    "a package built for another model is installed",
    "firmware-bad-package-refused",
    ("wrong-model",),
)
FW_EMPTY_OK = F.declare(
    "firmware-empty-accepted",
    "9.2.6",
    "an empty setting_file answers statusCode 0",
    "firmware-bad-package-refused",
    ("empty",),
)
FW_NEGATIVE = F.declare(
    "firmware-negative-status",
    "7",
    "a refused package answers -5 instead of a statusCode greater than zero (chapter 7 note)",
    "firmware-failure-status-positive",
)
FW_REFUSAL_RESETS = F.declare(
    "firmware-refusal-resets-config",
    "9.2.6",
    "refusing a package puts the image settings back to factory values",
    "firmware-refusal-changes-nothing",
)
FW_VERSION_STAYS = F.declare(
    "firmware-version-unchanged",
    "9.2.6",
    "a valid package answers 0 and reboots, but SoftWareVersion stays the old one",
    "firmware-upgrade-applied",
)
CFG_HALF = F.declare(
    "configfile-half-applied",
    "9.2.3",
    "a corrupt configuration file is applied up to the point where it breaks",
    "configfile-damaged-refused",
)
CFG_INCOMPLETE = F.declare(
    "configfile-import-incomplete",
    "9.2.3",
    "importing a configuration file skips the image settings",
    "configfile-round-trip",
)
CFG_FOREIGN_OK = F.declare(
    "configfile-foreign-accepted",
    "9.2.3",
    "a configuration file of another model is imported",
    "configfile-foreign-refused",
)
PORT_NOT_APPLIED = F.declare(
    "port-change-not-applied",
    "9.1.4",
    "after a new HTTP port the camera comes back on the old one while /Network/Port names the new one",
    "port-change-restart",
)
RESTART_LOSES = F.declare(
    "restart-loses-network-write",
    "9.1.5",
    "the restart after saving /Network/P2P happens before the write is stored: the change is lost",
    "p2p-saved-before-restart",
)
MAINT_IGNORED = F.declare(
    "automaintenance-ignored",
    "9.2.4",
    "the automatic maintenance restart never happens",
    "automaintenance-restart",
    ("everyday",),
)
MAINT_MASK_IGNORED = F.declare(
    "automaintenance-weekmask-ignored",
    "9.2.4",
    "everyweek restarts on every day, whatever <WeekDayMask> says",
    "automaintenance-weekmask",
    ("everyweek-other-day",),
)
FORMAT_STUCK = F.declare(
    "format-never-finishes",
    "9.11",
    "after /Record/Format/Call DiskFormatStatus stays 'formatting'",
    "format-status-formatted",
)
FORMAT_CAPACITY_STALE = F.declare(
    "format-capacity-stale",
    "9.11",
    "after a format AvailableCapacity stays 0 instead of the free space of the empty disk",
    "format-capacity-free",
)


# ======================================================================================================
# Firmware packages
# ======================================================================================================

PKG_MAGIC = b"BVFWPKG2"
PKG_HEADER = struct.Struct(">8sHH32s16sQ32sI")
PKG_HEADER_VERSION = 1
VERSION_RE = re.compile(r"[0-9]+(\.[0-9]+){1,3}")


# Chapter 7: "For the upgrade: any return value greater than zero indicates an update failure."
UPGRADE_EMPTY = 1  # no setting_file, or an empty one
UPGRADE_TRUNCATED = 2  # shorter than its header or its content length
UPGRADE_CORRUPT = 3  # bad magic, header CRC, version, SHA-256 or trailing bytes
UPGRADE_WRONG_MODEL = 4  # built for another DeviceTypeName
UPGRADE_BAD_REQUEST = 5  # not multipart/form-data
UPGRADE_BUSY = 6  # an upgrade is being installed


class PackageError(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class Package:
    model: str
    version: str
    content: bytes


def _fixed(text: str, size: int, what: str) -> bytes:
    raw = text.encode("ascii")
    if not raw or len(raw) > size or b"\0" in raw:
        raise ValueError(f"{what} {text!r} must be 1-{size} ASCII characters")
    return raw.ljust(size, b"\0")


def make_package(model: str, version: str, content: bytes | None = None) -> bytes:
    """A firmware package of the reference camera (header above + content)."""
    if not VERSION_RE.fullmatch(version):
        raise ValueError(f"version {version!r} is not digits and dots (e.g. 2.0.1)")
    if content is None:
        seed = hashlib.sha256(f"{model} {version}".encode()).digest()
        content = f"B-View reference firmware {model} {version}\n".encode() + seed * 2048  # 64 KiB
    head = PKG_HEADER.pack(
        PKG_MAGIC,
        PKG_HEADER_VERSION,
        PKG_HEADER.size,
        _fixed(model, 32, "model"),
        _fixed(version, 16, "version"),
        len(content),
        hashlib.sha256(content).digest(),
        0,
    )
    head = head[:-4] + struct.pack(">I", zlib.crc32(head[:-4]))
    return head + content


def parse_package(data: bytes, model: str, *, header_only: bool = False, any_model: bool = False) -> Package:
    """Check a package whole; raise PackageError with a positive code (chapter 7 note) if it is not good."""
    if not data:
        raise PackageError(UPGRADE_EMPTY, "the setting_file is empty")
    if len(data) < PKG_HEADER.size:
        if not data.startswith(PKG_MAGIC[: len(data)]):
            raise PackageError(UPGRADE_CORRUPT, "not a firmware package of this camera (magic)")
        raise PackageError(UPGRADE_TRUNCATED, f"{len(data)} bytes: shorter than the {PKG_HEADER.size}-byte header")
    magic, hver, hsize, raw_model, raw_version, length, digest, crc = PKG_HEADER.unpack_from(data)
    if magic != PKG_MAGIC or hver != PKG_HEADER_VERSION or hsize != PKG_HEADER.size:
        raise PackageError(UPGRADE_CORRUPT, "not a firmware package of this camera (magic/header version)")
    if zlib.crc32(data[: PKG_HEADER.size - 4]) != crc:
        raise PackageError(UPGRADE_CORRUPT, "header checksum mismatch")
    try:
        pkg_model = raw_model.rstrip(b"\0").decode("ascii")
        version = raw_version.rstrip(b"\0").decode("ascii")
    except UnicodeDecodeError:
        raise PackageError(UPGRADE_CORRUPT, "model or version is not ASCII") from None
    if not VERSION_RE.fullmatch(version):
        raise PackageError(UPGRADE_CORRUPT, f"version {version!r} is not digits and dots")
    if pkg_model != model and not any_model:
        raise PackageError(UPGRADE_WRONG_MODEL, f"package for {pkg_model!r}, this camera is {model!r}")
    content = data[PKG_HEADER.size :]
    if not header_only:
        if len(content) < length:
            raise PackageError(UPGRADE_TRUNCATED, f"content {len(content)} bytes of {length}")
        if len(content) > length:
            raise PackageError(UPGRADE_CORRUPT, f"{len(content) - length} bytes after the content")
        if hashlib.sha256(content).digest() != digest:
            raise PackageError(UPGRADE_CORRUPT, "SHA-256 of the content does not match the header")
    return Package(pkg_model, version, content)


# ======================================================================================================
# Configuration files
# ======================================================================================================

CFG_MAGIC = b"BVCONF01"
CFG_HEADER = struct.Struct(">8sI32s")


class ConfigFileError(Exception):
    def __init__(self, code: Status, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def export_config(resources: Mapping[str, Any], meta: Mapping[str, Any]) -> bytes:
    """The opaque configuration file: the stored resources with the device's identity (secrets: `seal_secrets`)."""
    lines = [json.dumps(dict(meta), sort_keys=True)]
    lines += [json.dumps([key, resources[key]], sort_keys=True) for key in sorted(resources)]
    payload = zlib.compress("\n".join(lines).encode("utf-8"), 9)
    return CFG_HEADER.pack(CFG_MAGIC, len(payload), hashlib.sha256(payload).digest()) + payload


def inflate(payload: bytes, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """zlib data inflated to at most `limit` bytes: a small file that inflates further (a zip bomb) is refused
    after `limit` bytes of work, never held whole in memory (-9)."""
    engine = zlib.decompressobj()
    try:
        out = engine.decompress(payload, limit)
    except zlib.error as exc:
        raise ConfigFileError(Status.XML_URL_MISMATCH, f"the file cannot be decoded ({exc})") from None
    if engine.unconsumed_tail:
        raise ConfigFileError(Status.MEMORY_OVERFLOW, f"the file inflates to more than {limit} bytes")
    if not engine.eof:
        raise ConfigFileError(Status.XML_URL_MISMATCH, "the file cannot be decoded (incomplete zlib stream)")
    return out


def read_config(data: bytes, *, verify: bool = True) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """(meta, [(path, document)]) of a configuration file; ConfigFileError(-1) when it is damaged."""
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigFileError(Status.MEMORY_OVERFLOW, f"{len(data)} bytes: not a configuration file of this camera")
    if len(data) < CFG_HEADER.size or data[:8] != CFG_MAGIC:
        raise ConfigFileError(Status.XML_URL_MISMATCH, "not a configuration file of this camera")
    _, length, digest = CFG_HEADER.unpack_from(data)
    payload = data[CFG_HEADER.size :]
    if verify:
        if len(payload) != length:
            raise ConfigFileError(Status.XML_URL_MISMATCH, f"payload of {len(payload)} bytes, header says {length}")
        if hashlib.sha256(payload).digest() != digest:
            raise ConfigFileError(Status.XML_URL_MISMATCH, "checksum mismatch: the file is damaged")
    try:
        text = inflate(payload).decode("utf-8")
        meta, *rows = (json.loads(line) for line in text.split("\n"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ConfigFileError(Status.XML_URL_MISMATCH, f"the file cannot be decoded ({exc})") from None
    if not isinstance(meta, dict) or not all(isinstance(r, list) and len(r) == 2 for r in rows):
        raise ConfigFileError(Status.XML_URL_MISMATCH, "the file's structure is not a configuration")
    return meta, [(str(k), v) for k, v in rows]


# -- secrets (ERRATA.md S2) ----------------------------------------------------------------------------------

SECRET_LEAVES = frozenset({"Password", "KeyValue", "KeyValueB64"})  # secrets the spec marks "rw" (AMS, WiFi)
SEAL_AAD = b"BVCONF01 secrets"
SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # 16 MiB and some 50 ms per guess of the admin password


def _is_secret(f: Field) -> bool:
    return f.kind != "struct" and (f.access == "wo" or f.name in SECRET_LEAVES)


def _root_of(key: str) -> Field | None:
    found = match(key)
    return BLOCKS[found[0].block].root if found is not None and found[0].block else None


def take_secrets(doc: Any, spec: Field | None, path: list[Any], out: list[list[Any]]) -> Any:
    """`doc` with every non-empty secret leaf blanked; each one appended to `out` as [*path, name, value]."""
    if not isinstance(doc, dict) or spec is None:
        return doc
    res: dict[str, Any] = {}
    for name, value in doc.items():
        f = spec.child(name)
        if f is not None and f.kind == "struct":
            if isinstance(value, list):
                res[name] = [take_secrets(v, f, [*path, name, _place(v, i)], out) for i, v in enumerate(value)]
            else:
                res[name] = take_secrets(value, f, [*path, name], out)
        elif f is not None and _is_secret(f) and value not in ("", None):
            out.append([*path, name, value])
            res[name] = ""
        else:
            res[name] = value
    return res


def _place(item: Any, index: int) -> Any:
    """A list item's place in a secret's path: its ID when it has one (a user's password stays with that user
    whatever the order of the list), else its index."""
    return {"ID": item["ID"]} if isinstance(item, dict) and isinstance(item.get("ID"), str) else index


def _put_back(resources: dict[str, Any], secret: list[Any]) -> None:
    """Put one [key, *path, name, value] of `take_secrets` back where it was (nothing if that place is gone)."""
    *where, value = secret
    node: Any = resources
    for step in where[:-1]:
        if isinstance(node, list) and isinstance(step, dict):
            node = next((x for x in node if isinstance(x, dict) and x.get("ID") == step.get("ID")), None)
        elif isinstance(node, dict) and isinstance(step, str) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return
    if isinstance(node, dict) and isinstance(where[-1], str) and isinstance(value, str):
        node[where[-1]] = value


def _key(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, maxmem=64 * 1024 * 1024, **SCRYPT)


def seal_secrets(resources: Mapping[str, Any], password: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(resources with secrets blanked, the sealed secrets for the meta)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    found: list[list[Any]] = []
    blank = {key: take_secrets(doc, _root_of(key), [key], found) for key, doc in resources.items()}
    salt, nonce = os.urandom(16), os.urandom(12)
    data = AESGCM(_key(password, salt)).encrypt(nonce, json.dumps(found).encode(), SEAL_AAD)
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return blank, {"kdf": "scrypt", "cipher": "AES-256-GCM", "salt": b64(salt), "nonce": b64(nonce), "data": b64(data)}


def open_secrets(sealed: Any, password: str) -> list[list[Any]]:
    """The secrets of a file, opened with the administrator's current password; -12 when that cannot be done."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        salt, nonce, data = (base64.b64decode(sealed[k], validate=True) for k in ("salt", "nonce", "data"))
        found = json.loads(AESGCM(_key(password, salt)).decrypt(nonce, data, SEAL_AAD))
    except (InvalidTag, TypeError, KeyError, ValueError, binascii.Error):
        raise ConfigFileError(
            Status.INVALID_OPERATION,
            "the file's secrets were sealed with another administrator password (set that password first)",
        ) from None
    if not isinstance(found, list) or not all(isinstance(x, list) and len(x) >= 3 for x in found):
        raise ConfigFileError(Status.XML_URL_MISMATCH, "the file's secrets are not a configuration")
    return found


def _read_config_partially(data: bytes) -> list[tuple[str, Any]]:
    """Fault CFG_HALF: what a streaming importer decodes before it meets the damage."""
    out: list[tuple[str, Any]] = []
    try:
        text = zlib.decompressobj().decompress(data[CFG_HEADER.size :]).decode("utf-8", "ignore")
    except zlib.error:
        return out
    for line in text.split("\n")[1:]:
        try:
            key, doc = json.loads(line)
        except ValueError:
            break
        out.append((str(key), doc))
    return out


def shape_problem(doc: Any, spec: Field, where: str) -> str | None:
    """What keeps `doc` from being the JSON form of a block (a leaf that is an object, a struct that is a list...);
    a PUT's XML cannot carry such a thing, so neither may a file."""
    if not isinstance(doc, dict):
        return f"<{where}> is not an element with children"
    for name, value in doc.items():
        f = spec.child(name)
        if f is None:
            continue  # unknown elements are ignored, as in a PUT (6.1.2)
        items = value if f.repeated else [value]
        if f.repeated and not isinstance(value, list):
            return f"<{where}/{name}> is not a list"
        for item in items:
            if f.kind == "struct":
                problem = shape_problem(item, f, f"{where}/{name}")
                if problem:
                    return problem
            elif not isinstance(item, str | int | float) or isinstance(item, bool):
                return f"<{where}/{name}> is not a value"
    return None


def _decoded(key: str, block: Any, doc: Any) -> Any:
    """`doc` through the block model of a PUT (shape, types, domains); ConfigFileError when it fails."""
    problem = shape_problem(doc, block.root, block.element)
    if problem:
        raise ConfigFileError(Status.PARAMETER_ERROR, f"{key}: {problem}")
    try:
        decoded = decode(block, parse_xml(to_xml(block, doc, include_wo=True)))
    except (ApiError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise ConfigFileError(Status.PARAMETER_ERROR, f"{key}: {exc}") from None
    if decoded.errors:
        raise ConfigFileError(Status.PARAMETER_ERROR, f"{key}: {'; '.join(decoded.errors)}")
    return decoded.doc


def imported_users(doc: Any, current: Any) -> dict[str, Any]:
    """The user list of a file, checked as a PUT of each User would be (9.2.1): every entry a User block with an
    ID, a name and a password (an empty one: the camera's current password of that ID and name), one admin at
    ID 0 and only there, IDs and names unique, at most MAX_USERS."""
    items = doc.get("User") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not all(isinstance(u, dict) for u in items):
        raise ConfigFileError(Status.XML_URL_MISMATCH, f"{USERS}: the user list is not a list of users")
    decoded = _decoded(USERS, BLOCKS["UserList"], doc)
    now = {(u.get("ID"), u.get("UserName")): u.get("Password") for u in current if isinstance(u, dict)}
    out: list[dict[str, Any]] = []
    for raw, user in zip(items, decoded.get("User", []), strict=True):
        uid, name, level = user.get("ID", ""), user.get("UserName", ""), user.get("UserLevel", "")
        password = user.get("Password") or now.get((uid, name))
        if not uid.isdigit() or not name or not password or not level:
            raise ConfigFileError(Status.REQUIRED_TAG_MISSING, f"{USERS}: user {name!r} lacks ID, password or level")
        if any(u["ID"] == uid or u["UserName"] == name for u in out):
            raise ConfigFileError(Status.PARAMETER_ERROR, f"{USERS}: user {uid} {name!r} given twice")
        if (uid == "0") != (level in (ADMIN_LEVEL, "Administrator")):
            raise ConfigFileError(Status.PARAMETER_ERROR, f"{USERS}: the administrator is ID 0 and only ID 0")
        kept = {k: raw[k] for k in ("IPAddress", "MACAddress") if isinstance(raw.get(k), str)}
        out.append({"ID": uid, "UserName": name, "Password": password, "UserLevel": level, **kept})
    if not any(u["ID"] == "0" for u in out):
        raise ConfigFileError(Status.REQUIRED_TAG_MISSING, "the user list has no admin (ID 0)")
    if len(out) > MAX_USERS:
        raise ConfigFileError(Status.USER_OVERFLOW, f"{USERS}: {len(out)} users, at most {MAX_USERS}")
    return {"User": out}


def imported_document(key: str, doc: Any, current: Mapping[str, Any]) -> Any:
    """One document of a file as a PUT would store it: decoded with its block model (types, domains; read-only
    fields ignored, an empty secret keeps the stored one), merged over the current document, cross-field rules
    checked. ConfigFileError when it is not one."""
    if key == USERS:
        return imported_users(doc, (current.get(USERS) or {}).get("User", []))
    found = match(key)
    if found is None or not found[0].block or not isinstance(doc, dict) or key not in current:
        raise ConfigFileError(Status.PARAMETER_ERROR, f"{key}: not a configuration resource")
    resource, block = found[0], BLOCKS[found[0].block]
    update = _decoded(key, block, doc)
    if resource.parts:  # a collection stores its own fields only (config.py Rule 2)
        update = {k: v for k, v in update.items() if k in own_fields(resource)}
    new = _merge_items(current[key], update, block.root)
    problems = check_rules(block, new, current[key])
    if problems:
        raise ConfigFileError(Status.PARAMETER_ERROR, f"{key}: {'; '.join(problems)}")
    return new


def _merge_items(stored: Any, update: dict[str, Any], spec: Field) -> dict[str, Any]:
    """`config.merge`, except that a list item keeps the read-only fields of the stored item at its place (a
    file restores /Disk's percentages, not its capacities and status)."""
    new = merge(stored if isinstance(stored, dict) else {}, update, spec)
    for name, value in update.items():
        f = spec.child(name)
        if f is None or f.kind != "struct":
            continue
        before = stored.get(name) if isinstance(stored, dict) else None
        if f.repeated and isinstance(value, list):
            before = before if isinstance(before, list) else []
            new[name] = [_merge_items(before[i] if i < len(before) else {}, v, f) for i, v in enumerate(value)]
        elif isinstance(value, dict):
            new[name] = _merge_items(before if isinstance(before, dict) else {}, value, f)
    return new


def validate_resource(key: str, doc: Any, current: Mapping[str, Any] | None = None) -> str | None:
    """A problem of one imported document, or None (`imported_document`)."""
    try:
        imported_document(key, doc, current if current is not None else {key: {}})
    except ConfigFileError as err:
        return err.detail
    return None


def keep_identity(imported: dict[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """What an import or a factory default must not take away (ERRATA.md L16)."""
    out = dict(imported)
    for key in NETWORK_IDENTITY:
        if key in current:
            out[key] = current[key]
    info = dict(current.get(DEVICE_INFO, {}))
    for name in DEVICE_INFO_WRITABLE:
        if name in imported.get(DEVICE_INFO, {}):
            info[name] = imported[DEVICE_INFO][name]
    out[DEVICE_INFO] = info
    for key, doc in current.items():  # MAC addresses belong to the hardware
        if key.endswith("/IPAddress") and key in out and "MacAddress" in doc:
            out[key] = {**out[key], "MacAddress": doc["MacAddress"]}
    return out


# ======================================================================================================
# Restarts
# ======================================================================================================

_PENDING: weakref.WeakKeyDictionary[Device, str] = weakref.WeakKeyDictionary()


def restarting(camera: Camera) -> bool:
    task = camera.extensions.get("restart_task")
    return task is not None and not task.done()


def schedule_restart(camera: Camera, why: str, *, before: Any = None, delay: float = ANSWER_FIRST_S) -> None:
    """Rule 1: restart after the answer is sent; `before` (async) runs first (flashing, reset)."""
    if restarting(camera):
        return

    async def run() -> None:
        await asyncio.sleep(delay)
        if before is not None:
            await before()
        log.info("restart: %s", why)
        await restart(camera)

    camera.extensions["restart_task"] = asyncio.get_running_loop().create_task(run())


async def restart(camera: Camera) -> None:
    """One restart through Camera.reboot on the ports /Network/Port names (Rule 1)."""
    device = camera.device
    assert device is not None
    old = (camera.http_port, camera.rtsp_port, camera.discovery_port)
    port = device.store.get("/Network/Port") or {}
    claimed = dict(port)
    if not camera.faults.on(PORT_NOT_APPLIED):
        camera.http_port = int(port.get("HTTP") or camera.http_port)
        camera.rtsp_port = int(port.get("RTP") or camera.rtsp_port)
        if camera.extensions.get("discovery_claimed") not in (None, port.get("Discovery")):
            camera.discovery_port = int(port["Discovery"])
    if camera.faults.on(REBOOT_LOSES):
        device.store.commit(
            resources={"/Images/1/Color": factory_defaults(device.identity_mapping())["/Images/1/Color"]}
        )
    for hook in BEFORE_RESTART:
        await hook(camera)
    boot = device.scaled(BOOT_S)
    try:
        await camera.reboot(boot)
    except OSError as exc:  # the new port is taken: come back where we were and say so in /Network/Port
        log.error("restart on ports %s failed (%s); back on %s", camera.ports, exc, old)
        await camera.stop()
        camera.http_port, camera.rtsp_port, camera.discovery_port = old
        await camera.start()
    if camera.faults.on(PORT_NOT_APPLIED) and camera.device is not None:
        camera.device.store.commit(resources={"/Network/Port": claimed})  # claims the port it ignored


_WATCHED: set[str] = set()


def watch_restart_keys() -> None:
    """A saved change of a RESTART_ON_SAVE resource restarts the camera after the answer (Rule 1); at every
    start, so that a module registering a key later (netif.py) never depends on the import order."""
    for key in RESTART_ON_SAVE:
        if key not in _WATCHED:
            _WATCHED.add(key)
            _watch(key)


def _watch(key: str) -> None:
    previous = ON_COMMIT.get(key)

    def hook(device: Device, doc: dict[str, Any]) -> None:
        if previous is not None:
            previous(device, doc)
        if device.store.get(key) != doc:
            _PENDING[device] = key

    ON_COMMIT[key] = hook


watch_restart_keys()


@web.middleware
async def boot_gate(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer 503 in the instant between the HTTP socket and the Device coming up; restart after a
    request that saved a restart resource (9.1.4, 9.1.5)."""
    camera: Camera = request.app[CAMERA]
    if camera.device is None:
        return web.Response(status=503, text="booting\n", headers={"Retry-After": "1"})
    resp = await handler(request)
    if _PENDING:  # (an empty check is cheaper: every request)
        restart_if_saved(camera)
    return resp


def restart_if_saved(camera: Camera) -> None:
    """After a request (REST, Discovery V2 103) that saved a restart resource: restart (Rule 1)."""
    why = _PENDING.pop(camera.device, None) if camera.device is not None else None
    if why is not None:
        if camera.faults.on(RESTART_LOSES) and why == "/Network/P2P":
            device = camera.live
            device.store.commit(resources={why: factory_defaults(device.identity_mapping())[why]})
        schedule_restart(camera, f"{why} saved")


MIDDLEWARES.append(boot_gate)


async def start_maintenance(camera: Camera) -> Any:
    """At every start: the installed firmware is what DeviceInfo reports; then the scheduler."""
    device = camera.device
    assert device is not None
    installed = (device.store.extra("firmware") or {}).get("version")
    if installed:
        device.identity = dataclasses.replace(device.identity, firmware=installed)
    info = device.store.get(DEVICE_INFO) or {}
    if info.get("SoftWareVersion") != device.identity.firmware:
        device.store.commit(resources={DEVICE_INFO: {**info, "SoftWareVersion": device.identity.firmware}})
    camera.extensions["discovery_claimed"] = (device.store.get("/Network/Port") or {}).get("Discovery")
    camera.extensions["restart_if_saved"] = restart_if_saved
    watch_restart_keys()
    scheduler = AutoMaintenance(camera)
    scheduler.start()
    return scheduler


STARTUP_HOOKS.append(start_maintenance)


def _ok(ctx: Ctx) -> web.Response:
    return status_response(ctx.camera, ctx.url, Status.OK)


# -- 9.2.7 /System/Reboot ---------------------------------------------------------------------------------


@handles("/System/Reboot", "PUT")
async def reboot(ctx: Ctx) -> web.StreamResponse:
    if restarting(ctx.camera):
        raise ApiError(Status.BUSY, "the camera is already restarting")
    ctx.device.log_event(1, 6, ctx.caller)  # remote reboot
    if not ctx.camera.faults.on(REBOOT_IGNORED):
        schedule_restart(ctx.camera, "PUT /System/Reboot")
    return _ok(ctx)


# -- 9.2.8 /System/FactoryDefault -------------------------------------------------------------------------


def factory_state(device: Device) -> dict[str, Any]:
    """The whole state after a factory default (ERRATA.md L15): factory resources, admin only with
    its current password, the wired network identity and the flash/clock/log kept."""
    snap = device.store.snapshot()
    resources = keep_identity(factory_defaults(device.identity_mapping()), snap["resources"])
    admin = next(u for u in device.users() if u.get("ID") == "0")
    factory_admin = resources[USERS]["User"][0]
    resources[USERS] = {"User": [{**factory_admin, "Password": admin.get("Password", "")}]}
    if device.faults.on(FACTORY_KEEPS_USER):
        resources[USERS] = snap["resources"][USERS]
    if device.faults.on(FACTORY_KEEPS_STREAMS):
        for key, doc in snap["resources"].items():
            if key.startswith("/Streams/"):
                resources[key] = doc
    extra = {k: v for k, v in snap["extra"].items() if k in FACTORY_KEEPS_EXTRA}
    return {"resources": resources, "extra": extra}


@handles("/System/FactoryDefault", "PUT")
async def factory_default(ctx: Ctx) -> web.StreamResponse:
    if restarting(ctx.camera):
        raise ApiError(Status.BUSY, "the camera is restarting")
    device = ctx.device
    state = factory_state(device)
    await ctx.camera.run_blocking(device.store.replace, state)
    device.log_event(2, 108, ctx.caller)  # restore default settings
    schedule_restart(ctx.camera, "factory default")
    return _ok(ctx)


# -- 9.2.6 /System/FirmwareUpgrade ------------------------------------------------------------------------


def upgrade_refused(ctx: Ctx, code: int, detail: str) -> web.Response:
    """A ResponseStatus with a statusCode greater than zero (chapter 7 note)."""
    if ctx.camera.faults.on(FW_REFUSAL_RESETS):
        ctx.device.store.commit(
            resources={"/Images/1/Color": factory_defaults(ctx.device.identity_mapping())["/Images/1/Color"]}
        )
    if ctx.camera.faults.on(FW_NEGATIVE):
        return status_response(ctx.camera, ctx.url, Status.PARAMETER_ERROR, detail)
    resp = xml_response(ctx.camera, "ResponseStatus", {"requestURL": ctx.url, "statusCode": str(code)}, 400)
    resp.headers["X-BView-Detail"] = detail.encode("ascii", "replace").decode()[:500]
    return resp


class _Unpaused:
    """The flow-control side of a StreamReader fed from memory."""

    _reading_paused = False

    def pause_reading(self, *args: Any, **kwargs: Any) -> None:
        pass

    def resume_reading(self, *args: Any, **kwargs: Any) -> None:
        pass


async def setting_file(ctx: Ctx) -> bytes | None:
    """The `setting_file` part of a multipart/form-data body (aiohttp's reader); None if absent."""
    from aiohttp import MultipartReader
    from aiohttp.streams import StreamReader

    stream = StreamReader(_Unpaused(), 2**16, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
    stream.feed_data(ctx.body)
    stream.feed_eof()
    reader = MultipartReader(ctx.request.headers, stream)
    while True:
        part = await reader.next()
        if part is None:
            return None
        if getattr(part, "name", None) == "setting_file":
            return bytes(await part.read(decode=False))  # type: ignore[union-attr]
        await part.release()


@handles("/System/FirmwareUpgrade", "PUT")
async def firmware_upgrade(ctx: Ctx) -> web.StreamResponse:
    camera, device = ctx.camera, ctx.device
    if restarting(camera):
        return upgrade_refused(ctx, UPGRADE_BUSY, "an upgrade or restart is in progress")
    if not ctx.request.headers.get("Content-Type", "").lower().startswith("multipart/form-data"):
        return upgrade_refused(ctx, UPGRADE_BAD_REQUEST, "the package must come as multipart/form-data (9.2.6)")
    try:
        data = await setting_file(ctx)
    except (ValueError, AssertionError, RuntimeError) as exc:
        return upgrade_refused(ctx, UPGRADE_BAD_REQUEST, f"malformed multipart body: {exc}")
    if not data and camera.faults.on(FW_EMPTY_OK):
        return _ok(ctx)
    if data is None:
        return upgrade_refused(ctx, UPGRADE_EMPTY, 'no form field name="setting_file" (9.2.6)')
    try:
        pkg = await camera.run_blocking(
            lambda: parse_package(
                data,
                device.identity.model,
                header_only=camera.faults.on(FW_HEADER_ONLY),
                any_model=camera.faults.on(FW_MODEL_OK),
            )
        )
    except PackageError as err:
        log.warning("firmware refused: %s", err.detail)
        return upgrade_refused(ctx, err.code, err.detail)

    async def install() -> None:
        await asyncio.sleep(device.scaled(FLASH_S))
        if not camera.faults.on(FW_VERSION_STAYS):
            device.store.commit(extra={"firmware": {"version": pkg.version, "installed_at": time.time()}})
        device.log_event(1, 1, ctx.caller)  # system upgrade

    schedule_restart(camera, f"firmware {pkg.version}", before=install)
    return _ok(ctx)


# -- 9.2.3 /System/DeviceConfigFile -----------------------------------------------------------------------


def admin_password(device: Device) -> str:
    return next((str(u.get("Password", "")) for u in device.users() if u.get("ID") == "0"), "")


def config_meta(device: Device) -> dict[str, str]:
    ident = device.identity
    return {"model": ident.model, "serial": ident.serial, "firmware": ident.firmware, "format": "1"}


@handles("/System/DeviceConfigFile", "GET")
async def config_file_get(ctx: Ctx) -> web.StreamResponse:
    device = ctx.device
    resources, sealed = await ctx.camera.run_blocking(
        seal_secrets, device.store.snapshot()["resources"], admin_password(device)
    )
    if ctx.camera.faults.on(CONFIG_CLEAR_SECRETS):
        resources = device.store.snapshot()["resources"]
    body = export_config(resources, {**config_meta(device), "secrets": sealed})
    device.log_event(2, 119, ctx.caller)  # export parameters
    name = f"{device.identity.model}-{device.identity.serial}.cfg"
    return web.Response(
        body=body,
        content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def import_config(device: Device, data: bytes) -> None:
    """Check the whole file, then replace the configuration at once (Rule 2)."""
    if device.faults.on(CFG_HALF):
        try:
            read_config(data)
        except ConfigFileError:
            rows = _read_config_partially(data)
            current = device.store.snapshot()["resources"]
            good = {k: v for k, v in rows if k in current and validate_resource(k, v, current) is None}
            if good:
                device.store.commit(resources=good)
            raise
    meta, rows = read_config(data)
    if meta.get("model") != device.identity.model and not device.faults.on(CFG_FOREIGN_OK):
        raise ConfigFileError(
            Status.INVALID_OPERATION,
            f"configuration of a {meta.get('model')!r}; this camera is a {device.identity.model!r}",
        )
    current = device.store.snapshot()["resources"]
    docs = dict(rows)
    if "secrets" in meta:
        for secret in open_secrets(meta["secrets"], admin_password(device)):
            _put_back(docs, secret)
    imported: dict[str, Any] = {}
    for key, doc in docs.items():
        if key not in current:
            raise ConfigFileError(Status.PARAMETER_ERROR, f"{key}: not a resource of this camera")
        imported[key] = imported_document(key, doc, current)
    missing = sorted(set(current) - set(imported))
    if missing:
        raise ConfigFileError(Status.REQUIRED_TAG_MISSING, f"the file lacks {', '.join(missing[:5])}")
    resources = keep_identity(imported, current)
    if device.faults.on(CFG_INCOMPLETE):
        resources.update({k: v for k, v in current.items() if k.startswith("/Images/")})
    device.store.replace({"resources": resources, "extra": device.store.snapshot()["extra"]})
    for key, doc in resources.items():
        if current.get(key) != doc:
            for listener in device.listeners:
                listener(key, doc)


@handles("/System/DeviceConfigFile", "PUT")
async def config_file_put(ctx: Ctx) -> web.StreamResponse:
    try:
        await ctx.camera.run_blocking(import_config, ctx.device, ctx.body)
    except ConfigFileError as err:
        raise ApiError(err.code, err.detail) from None
    ctx.device.log_event(2, 118, ctx.caller)  # import parameters
    return _ok(ctx)


# -- 9.10.4 /Record/Format/Call, 9.11 /Disk ---------------------------------------------------------------

DISK_FORMAT = "disk_format"


@handles("/Record/Format/Call", "PUT")
async def format_call(ctx: Ctx) -> web.StreamResponse:
    job = ctx.device.store.extra(DISK_FORMAT) or {}
    if time.time() < float(job.get("until", 0)):
        raise ApiError(Status.BUSY, "the disk is being formatted")
    until = time.time() + ctx.device.scaled(FORMAT_S)
    ctx.device.store.commit(extra={DISK_FORMAT: {"until": until}})
    ctx.device.log_event(7, 601, ctx.caller)  # format partition
    return _ok(ctx)


if "DiskList" not in COMPUTED:

    @computed("DiskList")
    def _disk_list(device: Device, key: str, doc: dict[str, Any], caller: Caller) -> dict[str, Any]:
        """9.11: DiskFormatStatus and the capacities follow a format (formatting, then formatted)."""
        job = device.store.extra(DISK_FORMAT)
        if not job:
            return doc
        formatting = time.time() < float(job["until"]) or device.faults.on(FORMAT_STUCK)
        for disk in doc.get("Disk", []):
            if formatting:
                disk.update(DiskFormatStatus="formatting", AvailableCapacity="0", DiskStorageAttribute="writing")
            else:
                free = "0" if device.faults.on(FORMAT_CAPACITY_STALE) else disk.get("TotalCapacity", "0")
                disk.update(DiskFormatStatus="formatted", AvailableCapacity=free, DiskStorageAttribute="idle")
        return doc


# -- 9.2.4 /System/DeviceAutoMaintenance ------------------------------------------------------------------

AUTO_MAINTENANCE = "/System/DeviceAutoMaintenance"


def maintenance_due(doc: Mapping[str, Any], since: datetime, now: datetime, *, ignore_mask: bool = False) -> bool:
    """Whether a restart instant of the AutoMaintenance block lies in (since, now] (device local time).

    everyday: MaintenanceTime's time of day, every day; everyweek: the same on the days whose
    <WeekDayMask> digit is 1 ("0000000", the week starting on Sunday); once: MaintenanceTime itself.
    """
    if str(doc.get("Enable", "false")).lower() not in ("true", "1"):
        return False
    try:
        when = parse_iso8601(str(doc.get("MaintenanceTime", ""))).replace(tzinfo=None)
    except ApiError:
        return False
    mode = doc.get("Mode")
    if mode == "once":
        return since < when <= now
    mask = str(doc.get("WeekDayMask", "")).strip()
    day = since.date()
    while day <= now.date():
        instant = datetime.combine(day, when.time())
        sunday_first = (day.weekday() + 1) % 7
        on_day = mode == "everyday" or ignore_mask or (len(mask) == 7 and mask[sunday_first] == "1")
        if since < instant <= now and on_day:
            return True
        day += timedelta(days=1)
    return False


class AutoMaintenance:
    """The scheduler: looks at the device clock every scaled 30 s and restarts when due."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        device = self.camera.device
        assert device is not None
        tick = max(0.05, device.scaled(MAINTENANCE_TICK_S))
        since = device.now().replace(tzinfo=None)
        while True:
            await asyncio.sleep(tick)
            now = device.now().replace(tzinfo=None)
            doc = device.store.get(AUTO_MAINTENANCE) or {}
            ignore_mask = device.faults.on(MAINT_MASK_IGNORED)
            if maintenance_due(doc, since, now, ignore_mask=ignore_mask) and not device.faults.on(MAINT_IGNORED):
                device.log_event(1, 4, None)  # normal shutdown, then the restart
                schedule_restart(self.camera, "automatic maintenance", delay=0)
                return
            since = now

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass


__all__ = [
    "make_package",
    "parse_package",
    "PackageError",
    "export_config",
    "read_config",
    "ConfigFileError",
    "maintenance_due",
]
