"""User management and levels (spec 9.2.11, 9.2.12, 9.2.1 /System/Users/1, 9.3.1, Operator rows)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import pytest

from pytest_bview.checks import check_status, expect, status_code
from pytest_bview.spec.status import Status
from pytest_bview.verdicts import inconclusive

TRIED_USERS = 40  # users a check adds at most to find the device's maximum (the spec names none)

pytestmark = [pytest.mark.system, pytest.mark.security]


def user_xml(name: str, password: str, level: str = "Normal") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><User><ID/><UserName>{name}</UserName>'
        f"<Password>{password}</Password><UserLevel>{level}</UserLevel><IPAddress/><MACAddress/></User>"
    )


def find_user(bview, name: str) -> int | None:
    """N of the user called `name` (N = ID + 1, 9.2.12), or None."""
    users, _ = bview.read("/System/Users")
    for user in users.get("User", []):
        if user.get("UserName") == name:
            return int(user["ID"]) + 1
    return None


@contextlib.contextmanager
def temporary_user(bview, password: str | None = None) -> Iterator[tuple[str, str]]:
    """A Normal user for the test, always removed afterwards."""
    name = f"bv{secrets.token_hex(3)}"
    password = password or f"Pw{secrets.token_hex(4)}"
    ex = bview.client.request("POST", "/System/Users/1", user_xml(name, password))
    check_status(ex, Status.OK, "9.2.1", "adding a Normal user")
    try:
        yield name, password
    finally:
        n = find_user(bview, name)
        if n is not None:
            bview.client.request("DELETE", f"/System/Users/{n}")


@pytest.mark.reversible
@pytest.mark.bview_rule("users-exists")
def test_duplicate_user_refused(bview) -> None:
    """9.2.1 + 7: adding a user whose name exists gets -13 (User already exists)."""
    with temporary_user(bview) as (name, _):
        ex = bview.client.request("POST", "/System/Users/1", user_xml(name, "Another1"))
        try:
            check_status(ex, Status.USER_EXISTS, "9.2.1", f"user {name!r} exists already")
        finally:
            users, _ = bview.read("/System/Users")
            dupes = [u for u in users.get("User", []) if u.get("UserName") == name]
            for extra in dupes[1:]:
                bview.client.request("DELETE", f"/System/Users/{int(extra['ID']) + 1}")


@pytest.mark.reversible
@pytest.mark.bview_rule("users-admin-kept")
def test_admin_cannot_be_deleted(bview) -> None:
    """9.2.1: "There is only one admin user with ID 0" — deleting it is refused and it stays."""
    ex = bview.client.request("DELETE", "/System/Users/1")
    check_status(ex, tuple(c for c in Status if c != Status.OK), "9.2.1", "the admin user (ID 0) cannot be deleted")
    admin, get = bview.read("/System/Users/1")
    expect(admin.get("ID") == "0", f"has user 1 = {admin}", "the admin user (ID 0) still exists", "9.2.1", ex, get)


# The spec's Operator rows (ERRATA L10: a Normal user is refused with 403 and -12; 401 or a non-zero code pass)
OPERATOR_ROWS = [
    ("PUT", "/System/DeviceAutoMaintenance", "AutoMaintenance", "9.2.4 DeviceAutoMaintenance"),
    ("PUT", "/Record", "Record", "9.10"),
    ("PUT", "/Record/HttpEvent/Config", "HttpEventConfig", "9.10.1"),
    ("PUT", "/EventsNotification/SubscribedEventTypeList", "SubscribedEventTypeList", "9.9.1"),
    ("DELETE", "/EventsNotification/SubscribedEventTypeList", "SubscribedEventTypeList", "9.9.1"),
    ("PUT", "/Disk", "DiskList", "9.11"),
]


@pytest.fixture(scope="module")
def normal_user(bview) -> Iterator[tuple[str, str]]:
    with temporary_user(bview) as creds:
        yield creds


@pytest.mark.reversible
@pytest.mark.parametrize("row", OPERATOR_ROWS, ids=[f"{m} {p}" for m, p, _, _ in OPERATOR_ROWS])
@pytest.mark.bview_rule("users-operator-level")
def test_normal_user_refused_operator_level(bview, normal_user, row) -> None:
    """Operator rows of chapter 9: a Normal user is refused (ERRATA L10: HTTP 403 or 401, or a non-zero code)."""
    from pytest_bview.protocol.xmlblocks import to_xml
    from pytest_bview.spec.blocks import BLOCKS

    method, path, block, section = row
    doc, _ = bview.read(path)
    if method == "DELETE":
        doc = {"SubscribedEventType": doc.get("SubscribedEventType", [])}
    ex = bview.client.request(method, path, to_xml(BLOCKS[block], doc), auth=normal_user)
    refused = ex.status in (401, 403) or (status_code(ex) not in (None, 0))
    after, get = bview.read(path)
    expect(
        refused and after == doc or (refused and method == "DELETE"),
        f"answered HTTP {ex.status} {status_code(ex)} to a Normal user's {method} {path}",
        f"{method} {path} needs the Operator level: 403 (or 401, or a non-zero statusCode), nothing changed",
        section,
        ex,
        get,
    )


@pytest.mark.reversible
@pytest.mark.bview_rule("user-auth")
def test_user_auth(bview) -> None:
    """9.3.1: /Security/UserAuth tells right credentials (0) from wrong ones (non-zero)."""
    s = bview.settings
    ok = bview.client.put(
        "/Security/UserAuth",
        f"Username={s.user}&Password={s.password}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    check_status(ok, Status.OK, "9.3.1", "the admin's own credentials")
    bad = bview.client.put(
        "/Security/UserAuth",
        f"Username={s.user}&Password={s.password}x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    check_status(bad, tuple(c for c in Status if c != Status.OK), "9.3.1", "a wrong password")


def user_auth(bview, name: str, password: str):
    return bview.client.put(
        "/Security/UserAuth",
        f"Username={name}&Password={password}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def put_user(bview, n: int, name: str, password: str, level: str = ""):
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><User><ID/><UserName>{name}</UserName>'
        f"<Password>{password}</Password><UserLevel>{level}</UserLevel><IPAddress/><MACAddress/></User>"
    )
    return bview.client.put(f"/System/Users/{n}", body)


NOT_OK = tuple(c for c in Status if c != Status.OK)


@pytest.mark.reversible
@pytest.mark.bview_rule("users-n-is-id-plus-one")
def test_user_n_is_id_plus_one(bview) -> None:
    """9.2.11, 9.2.12: "N corresponds to the user <ID> +1"; the admin has ID 0."""
    with temporary_user(bview):
        users, get = bview.read("/System/Users")
        listed = users.get("User", [])
        expect(any(u.get("ID") == "0" for u in listed), "lists no user with ID 0", "one admin with ID 0", "9.2.1", get)
        for user in listed:
            one, ex = bview.read(f"/System/Users/{int(user['ID']) + 1}")
            expect(
                (one.get("ID"), one.get("UserName")) == (user.get("ID"), user.get("UserName")),
                f"returned user {one.get('ID')} {one.get('UserName')!r} for N = {int(user['ID']) + 1}",
                f"user ID {user['ID']} ({user.get('UserName')!r}) at N = ID + 1",
                "9.2.12",
                ex,
            )


@pytest.mark.reversible
@pytest.mark.bview_rule("users-post-rules")
def test_add_user_rules(bview) -> None:
    """9.2.1: POST /System/Users/1 adds a Normal user; <ID>, <IPAddress>, <MACAddress> present and empty."""
    with temporary_user(bview) as (name, _):
        n = find_user(bview, name)
        user, get = bview.read(f"/System/Users/{n}")
        expect(user.get("UserLevel") == "Normal", f"added {user}", "a Normal user", "9.2.1", get)
    name = f"bv{secrets.token_hex(3)}"
    bad = {
        "a non-empty <ID>": user_xml(name, "Pw-12345").replace("<ID/>", "<ID>7</ID>"),
        "no <IPAddress> and <MACAddress>": user_xml(name, "Pw-12345").replace("<IPAddress/><MACAddress/>", ""),
        "an Adminstrator level": user_xml(name, "Pw-12345", level="Adminstrator"),
    }
    try:
        for what, body in bad.items():
            ex = bview.client.request("POST", "/System/Users/1", body)
            check_status(ex, NOT_OK, "9.2.1", f"a user with {what} is refused")
            expect(find_user(bview, name) is None, f"added a user with {what}", "nothing added", "9.2.1", ex)
    finally:
        n = find_user(bview, name)
        if n is not None:
            bview.client.request("DELETE", f"/System/Users/{n}")


@pytest.mark.reversible
@pytest.mark.bview_rule("users-overflow")
def test_user_overflow(bview) -> None:
    """9.2.1 + 7: beyond the device's maximum of users a POST gets -11 (User overflow). The spec names no
    maximum: a device that takes every user this check tries is inconclusive, not a failure."""
    added: list[str] = []
    try:
        ex = None
        for _ in range(TRIED_USERS):  # stop at the first refusal
            name = f"bv{secrets.token_hex(3)}"
            ex = bview.client.request("POST", "/System/Users/1", user_xml(name, "Pw-12345"))
            if status_code(ex) != 0:
                break
            added.append(name)
        assert ex is not None
        if status_code(ex) == 0:
            inconclusive(f"the device took {len(added)} more users and refused none: its maximum is beyond them")
        check_status(
            ex, Status.USER_OVERFLOW, "9.2.1", f"the device refused user {len(added) + 2} (after {len(added)} added)"
        )
    finally:
        for name in added:
            n = find_user(bview, name)
            if n is not None:
                bview.client.request("DELETE", f"/System/Users/{n}")


@pytest.mark.reversible
@pytest.mark.bview_rule("users-put-changes-password")
def test_password_change_proved_by_user_auth(bview) -> None:
    """9.2.1 + 9.3.1: PUT changes the password (UserLevel present and empty); UserAuth accepts only the new one."""
    with temporary_user(bview) as (name, old):
        ex = put_user(bview, find_user(bview, name), name, "New-Pw-2024")
        check_status(ex, Status.OK, "9.2.1", "a password change with <UserLevel/> empty")
        check_status(user_auth(bview, name, "New-Pw-2024"), Status.OK, "9.3.1", "the new password")
        check_status(user_auth(bview, name, old), NOT_OK, "9.3.1", "the old password no longer works")


@pytest.mark.reversible
@pytest.mark.bview_rule("users-empty-password-keeps")
def test_empty_password_keeps(bview) -> None:
    """9.2.1 + 6.1.2 "wo": a PUT with <Password/> empty keeps the stored password."""
    with temporary_user(bview) as (name, password):
        ex = put_user(bview, find_user(bview, name), name, "")
        check_status(ex, (Status.OK, *NOT_OK), "9.2.1")
        check_status(user_auth(bview, name, password), Status.OK, "9.3.1", "an empty password field keeps the password")


@pytest.mark.reversible
@pytest.mark.bview_rule("users-put-password-only")
def test_put_changes_only_the_password(bview) -> None:
    """9.2.1: "the only parameter which can be changed is the password"; <UserLevel> must be empty."""
    with temporary_user(bview) as (name, password):
        n = find_user(bview, name)
        ex = put_user(bview, n, name, password, level="Adminstrator")
        user, get = bview.read(f"/System/Users/{n}")
        expect(
            user.get("UserLevel") == "Normal",
            f"made the Normal user {name!r} {user.get('UserLevel')!r}",
            "a PUT changes only the password; a non-empty <UserLevel> is refused",
            "9.2.1",
            ex,
            get,
        )
        check_status(ex, NOT_OK, "9.2.1", "<UserLevel> must be empty in a PUT")


@pytest.mark.reversible
@pytest.mark.bview_rule("users-delete")
def test_delete_removes(bview) -> None:
    """9.2.1: DELETE removes the user: gone from the list, its credentials refused."""
    with temporary_user(bview) as (name, password):
        n = find_user(bview, name)
        ex = bview.client.request("DELETE", f"/System/Users/{n}")
        check_status(ex, Status.OK, "9.2.1", "deleting a Normal user")
        expect(find_user(bview, name) is None, f"still lists {name!r}", "the user is gone", "9.2.1", ex)
        check_status(user_auth(bview, name, password), NOT_OK, "9.3.1", "a deleted user's credentials")
