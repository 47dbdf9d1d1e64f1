"""Leave the camera as it was found: snapshot, journal, restore, verify (a sub-plugin of plugin.py).

Rule 1: before the first PUT/POST/DELETE of a session, every readable configuration resource is
        read and journalled to `<report-dir>/journal-<model>-<serial>.json` (written atomically),
        so that `--bview-restore-from DIR` can repair a camera after an interrupted run.
Rule 2: at the end of the session what differs from the snapshot is put back and every resource is
        read again; the session ends with `device state restored: N/N resources identical` and
        fails, naming each difference, when N/N is not reached.
Rule 3: volatile fields (the running clock, status and capacity values, the log) are excluded by
        name; the clock is compared as an offset to the local clock instead.
Rule 4: network writes (9.1, "at least 5 seconds between 2 configuration requests") are batched:
        every changed part of /Network goes back in one partial PUT /Network (6.1.1), the rest of
        the network resources one PUT each, interleaved with the other writes so that the client's
        pacing rarely has to wait.
Rule 5: while a check has moved the camera (a new address, DHCP, a new HTTP port: the disruptive tier),
        the journal says where it went, its MAC and the document that brings it back (`away`);
        `--bview-restore-from` that cannot reach the camera at --bview-host brings it home first: a PUT
        of that document where it went, else (an address) Discovery V2 103 by MAC (relocate.py).
Write-only fields (passwords) are never returned by GET, so they cannot be snapshotted: a suite that
changes one does so only where it can put it back (built-in camera) or in the disruptive tier.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_bview.documents import (
    SUBSCRIPTIONS,
    TIME,
    clock_offset,
    comparable,
    deep_merge,
    differences,
    write_back,
)
from pytest_bview.files import atomic_write
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.facts import RUNTIME_BLOCKS
from pytest_bview.spec.resources import BY_TEMPLATE, RESOURCES, Resource

Doc = dict[str, Any]

# Run-time resources (status, log, scan results: nothing to restore) and volatile fields: spec/facts.py (Rule 3)
RUNTIME = RUNTIME_BLOCKS
USERS = "/System/Users"
WIRED = "/Network/Interfaces/1/IPAddress"
CLOCK_TOLERANCE_S = 5.0
STATE_KEY = pytest.StashKey["RestoreState"]()


# -- what is snapshotted ------------------------------------------------------------------------


def _part_heads(resource: Resource) -> set[str]:
    return {element.split("/")[0] for element, _ in resource.parts}


def own_fields(resource: Resource) -> set[str]:
    """Elements a resource holds itself (not its parts'), <ID> excluded (it comes from the URL)."""
    block = BLOCKS[resource.block] if resource.block else None
    if block is None:
        return set()
    return {f.name for f in block.root.children if f.name not in _part_heads(resource) and f.name != "ID"}


def restorable(resource: Resource) -> bool:
    """GET and PUT of a block of its own, holding configuration (not only parts, not run-time)."""
    return (
        resource.block is not None
        and resource.block not in RUNTIME
        and resource.op("GET") is not None
        and resource.op("PUT") is not None
        and resource.template != "/System/Users/{N}"
        and any(BLOCKS[resource.block].root.child(name).access != "ro" for name in own_fields(resource))  # type: ignore[union-attr]
    )


def snapshot_paths(target: Any) -> list[str]:
    return [url for r in RESOURCES if restorable(r) for url in target.urls(r)]


def _own(resource: Resource, doc: Doc) -> Doc:
    """The resource's own fields, without the write-only ones a camera returned anyway (6.1.2): they cannot be
    put back (`_put` leaves them out) and are credentials, never to be journalled."""
    heads = _part_heads(resource)
    readable = _readable(BLOCKS[resource.block].root if resource.block else None, doc)
    return {k: v for k, v in readable.items() if k not in heads}


def _readable(field: Any, value: Any) -> Any:
    if isinstance(value, list):
        return [_readable(field, v) for v in value]
    if not isinstance(value, dict) or field is None:
        return value
    return {k: _readable(c, v) for k, v in value.items() if (c := field.child(k)) is None or c.access != "wo"}


# -- the snapshot and its journal ------------------------------------------------------------------


@dataclass
class Snapshot:
    model: str
    serial: str
    firmware: str
    address: str
    taken_at: str
    resources: dict[str, Doc] = field(default_factory=dict)
    users: list[Doc] = field(default_factory=list)
    clock_offset_s: float | None = None
    restored: bool = False
    # Rule 5, while a check has moved the camera: {"address" (None: DHCP), "port", "mac", "path", "original"}
    away: Doc | None = None
    mac: str = ""  # the wired MAC (9.1.7.1.1), with the serial the camera's identity (Rule 6)

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=1, sort_keys=True).encode()

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        return cls(**json.loads(path.read_text("utf-8")))


def take(target: Any) -> Snapshot:
    """Read every restorable resource, the user list and the clock offset (Rule 1)."""
    snap = Snapshot(
        model=target.model,
        serial=target.identity.get("SerialNum") or "unknown",
        firmware=target.firmware,
        address=f"{target.host}:{target.port}",
        taken_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    for path in snapshot_paths(target):
        try:
            doc, _ = target.read(path)
        except AssertionError:
            continue  # the device does not offer it; its own checks say so
        snap.resources[path] = _own(_resource(path), doc)
    try:
        users, _ = target.read(USERS)
        snap.users = [{k: u.get(k) for k in ("ID", "UserName", "UserLevel")} for u in users.get("User", [])]
    except AssertionError:
        pass
    if TIME in snap.resources:
        snap.clock_offset_s = clock_offset(target)
    wired = snap.resources.get(WIRED)
    snap.mac = str(wired.get("MacAddress", "")) if wired else ""
    return snap


def _resource(path: str) -> Resource:
    from pytest_bview.spec.resources import match

    found = match(path)
    assert found is not None, path
    return found[0]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text) or "unknown"


def journal_path(report_dir: Path, model: str, serial: str) -> Path:
    return Path(report_dir) / f"journal-{_safe(model)}-{_safe(serial)}.json"


def write_atomically(path: Path, data: bytes) -> None:
    """A crash leaves the old or the new journal (the camera's own atomic write serves both)."""
    atomic_write(path, data)


# -- restoring -----------------------------------------------------------------------------------------

PARENT: dict[str, tuple[str, str]] = {child: (r.template, element) for r in RESOURCES for element, child in r.parts}


def nest(template: str, params: dict[str, str], doc: Doc, root: str) -> Doc | None:
    """`doc` of resource `template` as a partial document of the collection `root` (None: not under it)."""
    while template != root:
        if template not in PARENT:
            return None
        parent_template, element = PARENT[template]
        child, parent = BY_TEMPLATE[template], BY_TEMPLATE[parent_template]
        free = [p for p in child.params if p not in parent.params]
        value: Any = [{"ID": params[free[0]], **doc}] if free else doc
        for name in reversed(element.split("/")):
            value = {name: value}
        doc, template = value, parent_template
    return doc


@dataclass
class Verdict:
    identical: int = 0
    total: int = 0
    problems: list[str] = field(default_factory=list)
    writes: int = 0
    network_writes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and self.identical == self.total

    def line(self) -> str:
        return f"device state restored: {self.identical}/{self.total} resources identical"


def _params(path: str) -> tuple[Resource, dict[str, str]]:
    resource = _resource(path)
    m = resource.regex.fullmatch(path)
    assert m is not None
    return resource, m.groupdict()


def _put(target: Any, path: str, doc: Doc, verdict: Verdict | None = None) -> str | None:
    """One restoring write (documents.write_back), counted in the verdict; the problem if the device refused it."""
    problem, writes = write_back(target, path, doc)
    if verdict is not None:
        verdict.writes += writes
        verdict.network_writes += writes if path != SUBSCRIPTIONS and _resource(path).has("network") else 0
    return problem


Write = tuple[str, Doc, list[tuple[str, Doc]]]  # path, document, the single writes it stands for


def plan(changed: dict[str, Doc]) -> list[Write]:
    """The writes that put `changed` back: one batched /Network PUT, the rest interleaved (Rule 4)."""
    batch: Doc = {}
    members: list[tuple[str, Doc]] = []
    network: list[Write] = []
    other: list[Write] = []
    for path, doc in changed.items():
        resource, params = _params(path)
        nested = nest(resource.template, params, doc, "/Network") if resource.has("network") else None
        if nested is not None:
            batch = deep_merge(batch, nested)
            members.append((path, doc))
        elif resource.has("network"):
            network.append((path, doc, [(path, doc)]))
        else:
            other.append((path, doc, [(path, doc)]))
    if len(members) == 1:
        network.insert(0, (*members[0], members))
    elif members:
        network.insert(0, ("/Network", batch, members))
    # one network write, then a share of the others, then the next network write ...
    out: list[Write] = []
    share = max(1, len(other) // max(1, len(network)))
    while network or other:
        if network:
            out.append(network.pop(0))
        out.extend(other[:share])
        other = other[share:]
    return out


def restore(target: Any, snap: Snapshot) -> Verdict:
    """Put back what differs from `snap`, then verify every resource by GET (Rule 2)."""
    verdict = Verdict(total=len(snap.resources) + (1 if snap.users else 0))
    alive = target.client.get("/System/DeviceInfo")
    if alive.status is None:  # one clear answer, not a connect timeout per resource (twice)
        raise ConnectionError(f"the camera does not answer at {target.client.base_url}: {alive.error}")
    current = _read_all(target, snap)
    changed = {
        p: comparable(snap.resources[p])
        for p, doc in current.items()
        if comparable(doc) != comparable(snap.resources[p])
    }
    for path, doc, singles in plan(changed):
        problem = _put(target, path, doc, verdict)
        if problem and len(singles) > 1:  # a device without collection PUT: one resource at a time
            problems = [_put(target, p, d, verdict) for p, d in singles]
            problem = "; ".join(x for x in problems if x) or None
        if problem:
            verdict.problems.append(problem)
    _restore_users(target, snap, verdict)
    _restore_clock(target, snap, verdict)
    after = _read_all(target, snap)
    for path, doc in snap.resources.items():
        if path not in after:
            verdict.problems.append(f"{path}: no longer readable")
            continue
        diff = differences(comparable(doc), comparable(after[path]))
        if path == TIME and snap.clock_offset_s is not None:
            drift = _clock_drift(target, snap)
            if drift is not None and abs(drift) > CLOCK_TOLERANCE_S:
                diff.append(f"SystemTime off by {drift:+.0f} s from the clock found")
        if diff:
            verdict.problems.append(f"{path}: " + "; ".join(diff))
        else:
            verdict.identical += 1
    if snap.users:
        users = _user_differences(target, snap)
        if users:
            verdict.problems.append(f"{USERS}: {users}")
        else:
            verdict.identical += 1
    return verdict


def _read_all(target: Any, snap: Snapshot) -> dict[str, Doc]:
    out = {}
    for path in snap.resources:
        try:
            doc, _ = target.read(path)
        except AssertionError:
            continue
        out[path] = _own(_resource(path), doc)
    return out


def _users(target: Any) -> list[Doc]:
    users, _ = target.read(USERS)
    return list(users.get("User", []))


def _restore_users(target: Any, snap: Snapshot, verdict: Verdict) -> None:
    """Users the session added are deleted (9.2.1: DELETE /System/Users/N, N = ID + 1)."""
    if not snap.users:
        return
    known = {u["UserName"] for u in snap.users}
    for user in sorted(_users(target), key=lambda u: -int(u.get("ID", 0))):
        if user.get("UserName") not in known and str(user.get("ID")) != "0":
            ex = target.client.request("DELETE", f"/System/Users/{int(user['ID']) + 1}")
            verdict.writes += 1
            if ex.status != 200:
                verdict.problems.append(f"DELETE of user {user.get('UserName')!r} answered HTTP {ex.status}")


def _user_differences(target: Any, snap: Snapshot) -> str:
    now = {str(u.get("UserName")): u.get("UserLevel") for u in _users(target)}
    was = {u["UserName"]: u.get("UserLevel") for u in snap.users}
    extra, missing = sorted(set(now) - set(was)), sorted(set(was) - set(now))
    out = []
    if extra:
        out.append(f"users added and not removed: {', '.join(map(str, extra))}")
    if missing:
        out.append(f"users removed (cannot be recreated: passwords are write-only): {', '.join(missing)}")
    return "; ".join(out)


def _clock_drift(target: Any, snap: Snapshot) -> float | None:
    now = clock_offset(target)
    return None if now is None or snap.clock_offset_s is None else now - snap.clock_offset_s


def _restore_clock(target: Any, snap: Snapshot, verdict: Verdict) -> None:
    """The clock went on running: set it to the local clock plus the offset found (9.2.1)."""
    drift = _clock_drift(target, snap) if TIME in snap.resources else None
    if drift is None or abs(drift) <= CLOCK_TOLERANCE_S:
        return
    when = datetime.now(UTC) + timedelta(seconds=snap.clock_offset_s or 0.0)
    problem = _put(target, TIME, {"SystemTime": when.strftime("%Y-%m-%dT%H:%M:%SZ")}, verdict)
    if problem:
        verdict.problems.append(problem)


# -- the plugin ------------------------------------------------------------------------------------------
#
# Rule 6: every snapshot, journal and restore belongs to one camera (its Target: serial and MAC); a fleet
#         process holds one RestoreState per camera and puts each snapshot back only into the camera it
#         was taken from, after checking its identity (`same_camera`) before the first restoring write.
# Rule 7: a journal that says "not restored" is never overwritten: the next session on that camera repairs
#         the camera from it first (or refuses to test it, exit status 9), then takes its own snapshot.
# Rule 8: SIGTERM and SIGHUP end a session as Ctrl-C does (the restore runs in sessionfinish); a signal
#         that arrives while a camera is being restored waits until the restore is done.


@dataclass
class RestoreState:
    target: Any
    snapshot: Snapshot | None = None
    journal: Path | None = None
    verdict: Verdict | None = None


STATES_KEY = pytest.StashKey[list[RestoreState]]()
NOTES_KEY = pytest.StashKey[list[str]]()


def states(config: pytest.Config) -> list[RestoreState]:
    """One RestoreState per camera this process opened for writing (Rule 6)."""
    return config.stash.setdefault(STATES_KEY, [])


def _notes(config: pytest.Config) -> list[str]:
    return config.stash.setdefault(NOTES_KEY, [])


def same_camera(target: Any, snap: Snapshot) -> str | None:
    """Why `target` is not the camera `snap` was taken from (serial, model and MAC), or None (Rule 6)."""
    ex = target.client.get("/System/DeviceInfo")
    if ex.status is None:
        return f"the camera does not answer at {target.client.base_url}: {ex.error}"
    try:
        doc = _read_block(ex, "DeviceInfo", "9.2.4")
    except AssertionError:
        return f"GET /System/DeviceInfo at {target.client.base_url} answered HTTP {ex.status} with no DeviceInfo"
    serial, model = str(doc.get("SerialNum", "")), str(doc.get("DeviceTypeName", ""))
    if (serial, model) != (snap.serial, snap.model):
        return (
            f"the camera at {target.client.base_url} is {model} {serial}, the snapshot is of {snap.model} {snap.serial}"
        )
    if snap.mac:
        try:
            mac = str(target.read(WIRED)[0].get("MacAddress", ""))
        except AssertionError:
            mac = ""
        if mac.lower() != snap.mac.lower():
            return f"the camera at {target.client.base_url} has MAC {mac or '(none)'}, the snapshot's is {snap.mac}"
    return None


def _read_block(ex: Any, block: str, section: str) -> Doc:
    from pytest_bview.checks import read_block

    return read_block(ex, block, section)


def restore_checked(target: Any, snap: Snapshot) -> Verdict:
    """restore(), but only into the camera the snapshot belongs to: nothing is written to another."""
    wrong = same_camera(target, snap)
    if wrong is not None:
        return Verdict(total=len(snap.resources), problems=[f"not restored, nothing written: {wrong}"])
    return restore(target, snap)


def _journals(report_dir: Path, model: str, serial: str) -> list[tuple[Path, Snapshot]]:
    """Every journal of one camera (the current one and interrupted ones set aside by older versions), oldest first."""
    main = journal_path(report_dir, model, serial)
    found = []
    for path in [main, *main.parent.glob(f"{main.stem}.interrupted-*.json")]:
        try:
            found.append((path, Snapshot.load(path)))
        except (ValueError, TypeError, OSError):
            continue
    return sorted(found, key=lambda f: f[1].taken_at)


def pick_journal(report_dir: Path, model: str, serial: str) -> Path | None:
    """The journal holding the camera's state before its first unrestored run: the oldest unrestored one
    (a later run snapshotted the state that run left), else the newest."""
    found = _journals(report_dir, model, serial)
    pending = [path for path, snap in found if not snap.restored]
    return pending[0] if pending else (found[-1][0] if found else None)


def _mark_restored(path: Path, snap: Snapshot) -> None:
    snap.restored = True
    write_atomically(path, snap.to_json())
    for other, old in _journals(path.parent, snap.model, snap.serial):  # later snapshots of a changed camera
        if other != path and not old.restored:
            other.unlink(missing_ok=True)


@pytest.hookimpl
def pytest_bview_camera_opened(config: pytest.Config, target: Any) -> None:
    """Rule 7: a camera an interrupted run left changed is repaired before anything else; then the first
    write of a session snapshots it (Rule 1)."""
    from pytest_bview.target import StateUnknown

    settings = target.settings
    if settings.restore_from:
        return  # pytest_sessionstart does the repair it was asked for
    # the built-in camera is new in every session (its state dies with it): an old journal is not its past
    path = pick_journal(Path(settings.report_dir), target.model, target.serial) if target.sim is None else None
    snap = Snapshot.load(path) if path is not None else None
    if snap is not None and not snap.restored:
        if settings.level == "readonly":
            _notes(config).append(
                f"bview: {target.model} {target.serial} was left changed by an interrupted run (journal {path}); "
                "this readonly run tests it as it is. Repair with: pytest --bview-host ... --bview-restore-from "
                f"{path}"
            )
        else:
            with _guarded(), target.client.off_record():
                try:
                    verdict = restore_checked(target, snap)
                except Exception as exc:  # the camera went away during the repair: it is in an unknown state
                    verdict = Verdict(total=len(snap.resources), problems=[f"repair aborted: {exc}"])
            if not verdict.ok:
                raise StateUnknown(
                    f"{target.model} {target.serial} was left changed by an interrupted run and could not be "
                    f"repaired from its journal {path} ({'; '.join(verdict.problems)[:1500]}); nothing else was "
                    f"written. Repair it with: pytest --bview-host ... --bview-restore-from {path}"
                )
            _mark_restored(path, snap)  # type: ignore[arg-type]
            _notes(config).append(
                f"bview: {target.model} {target.serial} was left changed by an interrupted run: repaired from "
                f"{path} first ({verdict.line()})"
            )
    if settings.level == "readonly":
        return
    state = RestoreState(target)
    states(config).append(state)
    target.client.before_write = lambda: _snapshot_now(state)


def _snapshot_now(state: RestoreState) -> None:
    """The client's before-write hook: snapshot, then journal (Rule 1), off the record of the test."""
    target = state.target
    with target.client.off_record():
        snap = take(target)
    path = journal_path(target.settings.report_dir, snap.model, snap.serial)
    state.snapshot, state.journal = snap, path  # first: a signal after this still restores from memory
    write_atomically(path, snap.to_json())


def mark_away(target: Any, away: Doc | None) -> None:
    """Rule 5: journal that the camera is away (`away`, see Snapshot.away), or back (None). The snapshot is
    taken first if this comes before the session's first write."""
    if target.client.before_write is not None:
        hook, target.client.before_write = target.client.before_write, None
        hook()
    path = journal_path(target.settings.report_dir, target.model, target.identity.get("SerialNum") or "unknown")
    if path.exists():
        snap = Snapshot.load(path)
        snap.away = away
        write_atomically(path, snap.to_json())


def bring_home(settings: Any, source: Path) -> str | None:
    """Rule 5: a journal of `source` says the camera of --bview-host is away: bring it back to that host.
    Returns what was done, or None when no journal says so or nothing reached the camera."""
    from types import SimpleNamespace

    from pytest_bview import relocate
    from pytest_bview.client import Client, urlhost
    from pytest_bview.protocol.xmlblocks import to_xml

    journals = [source] if source.is_file() else sorted(source.glob("journal-*.json"), reverse=True)
    for path in journals:
        try:
            snap = Snapshot.load(path)
        except (ValueError, TypeError, OSError):
            continue
        if not snap.away or snap.address.rsplit(":", 1)[0] != settings.host:
            continue
        away, host = snap.away, settings.host
        port = settings.port or (443 if settings.scheme == "https" else 80)
        here = SimpleNamespace(
            settings=settings, host=host, discovery_iface=settings.discovery_iface,
            discovery_port=settings.discovery_port,
        )  # fmt: skip
        watch = relocate.Watch(here, str(away["mac"]), port, host)
        original, target = dict(away["original"]), str(away.get("path") or relocate.WIRED)
        where, there = away.get("address") or host, int(away.get("port") or port)
        watch.trust(str(where))  # the journal's address: one the run chose itself
        if (away.get("address") or there != port) and watch.answers_at(str(where), port=there):
            client = Client(f"{settings.scheme}://{urlhost(str(where))}:{there}", settings.user, settings.password)
            try:
                resource = _resource(target)
                assert resource.block is not None
                ex = client.put(target, to_xml(BLOCKS[resource.block], original, include_wo=True))
            finally:
                client.close()
            watch.note(f"PUT of the original {target} at {where}:{there}: HTTP {ex.status}")
        elif target == relocate.WIRED:
            dhcp = (original.get("DHCP") or {}).get("Enable") == "true"
            watch.rescue(host, str(original.get("SubnetMask")), str(original.get("Gateway")), dhcp)
        deadline = max(5.0, 360.0 * settings.time_scale)
        back = watch.find(time.monotonic(), [host], deadline, min(deadline, 60.0 * settings.time_scale), 0.1)
        if back is not None and back.address == host:
            watch.note(f"back at {host} after {back.seconds:.3f} s")
            snap.away = None
            write_atomically(path, snap.to_json())
            came = f"{where}:{there}" if away.get("address") or target != relocate.WIRED else "its DHCP address"
            return f"brought home from {came} to {host}:{port} ({watch.story()})"
        return None
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    """--bview-restore-from DIR|FILE: repair the camera from its journal and exit."""
    from pytest_bview.session import settings as _settings
    from pytest_bview.session import target as _target

    config = session.config
    try:
        settings = _settings(config)
    except pytest.UsageError:
        return  # reported where the camera is opened
    if not settings.restore_from:
        return
    if settings.level == "readonly":
        raise pytest.UsageError("--bview-restore-from writes to the camera: it cannot run with --bview-level readonly")
    source = Path(settings.restore_from)
    try:
        target = _target(config)
    except pytest.exit.Exception:  # not where it should be: a journal may say where it went (Rule 5)
        done = bring_home(settings, source)
        if done is None:
            raise
        print(f"bview: {done}")
        target = _target(config)
    path = source if source.is_file() else pick_journal(source, target.model, target.serial)
    if path is None or not path.exists():
        pytest.exit(f"bview: no journal for {target.model} {target.serial} in {source}", returncode=4)
    snap = Snapshot.load(path)
    with _guarded():
        verdict = restore_checked(target, snap)
    _report(config, verdict, target=target)
    if verdict.ok:
        _mark_restored(path, snap)
    pytest.exit(f"bview: restored from {path}: {verdict.line()}", returncode=0 if verdict.ok else 1)


def _report(config: pytest.Config, verdict: Verdict, who: str = "", target: Any = None) -> None:
    writer = config.pluginmanager.get_plugin("terminalreporter")
    if writer is None:
        return
    writer.write_line(who + verdict.line(), green=verdict.ok, red=not verdict.ok, bold=not verdict.ok)
    for problem in verdict.problems:  # (a difference may be a credential: client.py Rule 2)
        writer.write_line(f"  NOT RESTORED {target.client.secrets.redact(problem) if target else problem}", red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Rule 2 for every camera of this process (Rule 6): restore, verify, fail the session when one is not
    as it was found."""
    with _guarded(then_stop=False):
        for state in states(session.config):
            if state.snapshot is None or state.verdict is not None:
                continue
            try:
                with state.target.client.off_record():
                    state.verdict = restore_checked(state.target, state.snapshot)
            except Exception as exc:  # the camera went away: say so, keep the journal for --bview-restore-from
                state.verdict = Verdict(total=len(state.snapshot.resources), problems=[f"restore aborted: {exc}"])
            if state.verdict.ok and state.journal is not None:
                _mark_restored(state.journal, state.snapshot)
            elif session.exitstatus == 0:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl
def pytest_bview_restore_verdicts(config: pytest.Config) -> dict[str, str]:
    return {s.target.key: s.verdict.line() for s in states(config) if s.verdict is not None}


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for note in _notes(config):
        terminalreporter.write_line(note, yellow=True)
    done = [s for s in states(config) if s.verdict is not None]
    for state in done:
        who = f"{state.target.model} {state.target.serial}: " if len(done) > 1 else ""
        _report(config, state.verdict, who, state.target)  # type: ignore[arg-type]
        if not state.verdict.ok and state.journal is not None:  # type: ignore[union-attr]
            terminalreporter.write_line(
                f"  repair with: pytest --bview-host ... --bview-restore-from {state.journal}", red=True
            )
    if SIGNAL_KEY in config.stash and config.stash[SIGNAL_KEY].received:
        what = " after putting the camera back" if done and all(s.verdict.ok for s in done) else ""  # type: ignore[union-attr]
        terminalreporter.write_line(f"bview: stopped by {config.stash[SIGNAL_KEY].received}{what}", yellow=True)


# -- Rule 8: SIGTERM and SIGHUP --------------------------------------------------------------------------


@dataclass
class _Signals:
    config: pytest.Config
    previous: dict[int, Any] = field(default_factory=dict)
    received: str = ""


SIGNAL_KEY = pytest.StashKey[_Signals]()
_GUARD = threading.local()


@contextlib.contextmanager
def _guarded(then_stop: bool = True) -> Iterator[None]:
    """While a camera is being restored, a SIGTERM/SIGHUP waits; after the block it stops the run
    (`then_stop`), unless the run is ending anyway (the restore in sessionfinish)."""
    depth = getattr(_GUARD, "depth", 0)
    _GUARD.depth = depth + 1
    try:
        yield
    finally:
        _GUARD.depth = depth
        pending = getattr(_GUARD, "pending", None)
        if depth == 0 and pending:
            _GUARD.pending = None
            if then_stop:
                raise KeyboardInterrupt(pending)


def _on_signal(signum: int, frame: Any) -> None:
    name = signal.Signals(signum).name
    sig = _SIGNALLED[-1] if _SIGNALLED else None
    if sig is not None and sig.received:
        return  # already stopping: a second signal must not cut the restore short
    if sig is not None:
        sig.received = name
        dsession = sig.config.pluginmanager.get_plugin("dsession")
        if dsession is not None:  # the xdist controller: its workers restore their cameras, then end
            _forward(signum)
            dsession.shouldstop = f"stopped by {name}"
            return
    if getattr(_GUARD, "depth", 0):
        _GUARD.pending = name  # finish the restore first
        return
    raise KeyboardInterrupt(name)  # pytest's Ctrl-C path: sessionfinish restores the camera


def _forward(signum: int) -> None:
    """Send the signal on to this process's children (local xdist workers), each of which restores its own
    cameras before it ends."""
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        try:
            pids = [int(p) for p in children.read_text().split()]
        except (OSError, ValueError):
            continue
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)


_SIGNALLED: list[_Signals] = []


def without_lineless_entries(exc: BaseException | None) -> None:
    """Unlink the traceback entries that have no line number from `exc` and the exceptions it chains.

    A signal can interrupt an instruction that carries no line (CPython 3.11: a `with` exit, a
    generator's resume); the KeyboardInterrupt raised there has an entry whose tb_lineno is None, and
    pytest's report of the interrupt then fails with a TypeError, ending the run with status 1 instead of 2.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None and tb.tb_lineno is None:
            tb = tb.tb_next
        exc.__traceback__ = tb
        while tb is not None:
            while tb.tb_next is not None and tb.tb_next.tb_lineno is None:
                tb.tb_next = tb.tb_next.tb_next
            tb = tb.tb_next
        exc = exc.__cause__ or exc.__context__


@pytest.hookimpl(tryfirst=True)
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    # before the terminal reporter renders it (Rule 8: a signal ends the run with pytest's status 2)
    without_lineless_entries(excinfo.value)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    sig = _Signals(config)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            sig.previous[signum] = signal.signal(signum, _on_signal)
        except (ValueError, OSError):  # not settable here
            continue
    config.stash[SIGNAL_KEY] = sig
    _SIGNALLED.append(sig)


def pytest_unconfigure(config: pytest.Config) -> None:
    sig = config.stash.get(SIGNAL_KEY, None)
    if sig is None:
        return
    for signum, handler in sig.previous.items():
        signal.signal(signum, handler)
    if sig in _SIGNALLED:
        _SIGNALLED.remove(sig)
