"""User management and levels (spec 9.2.11, 9.2.12, 9.2.1 /System/Users/1, 9.3.1, Operator rows)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import pytest

from pytest_bview.checks import check_status, expect
from pytest_bview.spec.status import Status

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
def test_admin_cannot_be_deleted(bview) -> None:
    """9.2.1: "There is only one admin user with ID 0" — deleting it is refused and it stays."""
    ex = bview.client.request("DELETE", "/System/Users/1")
    check_status(ex, tuple(c for c in Status if c != Status.OK), "9.2.1", "the admin user (ID 0) cannot be deleted")
    admin, get = bview.read("/System/Users/1")
    expect(admin.get("ID") == "0", f"has user 1 = {admin}", "the admin user (ID 0) still exists", "9.2.1", ex, get)


@pytest.mark.reversible
def test_normal_user_refused_operator_level(bview) -> None:
    """9.10 (Operator rows): a Normal user is refused PUT /Record (ERRATA.md: HTTP 403 or 401, or -12)."""
    with temporary_user(bview) as (name, password):
        record, _ = bview.read("/Record")
        from pytest_bview.spec.blocks import BLOCKS
        from pytest_bview.xmlblocks import to_xml

        ex = bview.client.put("/Record", to_xml(BLOCKS["Record"], record), auth=(name, password))
        refused = ex.status in (401, 403) or (ex.status == 200 and _code(ex) not in (None, 0))
        expect(
            refused,
            f"answered HTTP {ex.status} to a Normal user's PUT /Record",
            "PUT /Record needs the Operator level: 403 (or 401, or a non-zero statusCode)",
            "9.10",
            ex,
        )


def _code(ex):
    from pytest_bview.checks import status_code

    return status_code(ex)


@pytest.mark.reversible
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
