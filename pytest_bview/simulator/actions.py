"""Resources whose behaviour is more than storing a block: users, log, actions, busy windows.

Each handler is registered with `@handles(template, method)` and named after the spec's
resource so it can be found from the section number.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from pytest_bview.simulator import faults as F
from pytest_bview.simulator.config import ApiError, decode, local, parse_xml
from pytest_bview.simulator.device import MAX_USERS, Caller, Device, computed
from pytest_bview.simulator.http import (
    CAMERA,
    MIDDLEWARES,
    Ctx,
    handles,
    password_judged,
    password_turn,
    status_response,
    xml_response,
)
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.facts import CALIBRATION_MIN_S, WIFI_TEST_S
from pytest_bview.spec.status import Status

CALIBRATION_S = CALIBRATION_MIN_S  # 9.12.1 "Calibration takes 3 to 5 minutes": the reference camera takes 3

DUPLICATE_USER_OK = F.declare(
    "users-duplicate-accepted",
    "9.2.1",
    "adding a user whose name exists answers 0 instead of -13",
    "users-exists",
)
ADMIN_DELETABLE = F.declare(
    "users-admin-deletable",
    "9.2.1",
    "DELETE of the admin user (ID 0) is accepted",
    "users-admin-kept",
)
USERAUTH_ALWAYS = F.declare(
    "userauth-always-ok",
    "9.3.1",
    "/Security/UserAuth answers 0 for wrong credentials",
    "user-auth",
)
DISK_PUT_OK = F.declare(
    "disk-put-accepted",
    "9.11",
    "PUT /Disk answers 0 although the spec says it is not supported (-3)",
    "disk-put-unsupported",
)
# -- issue 3: users, log ----------------------------------------------------------------------------
POST_ID_OK = F.declare(
    "users-post-id-accepted",
    "9.2.1",
    "POST of a user with a non-empty <ID> is accepted",
    "users-post-rules",
)
POST_TAGS_OK = F.declare(
    "users-post-tags-unchecked",
    "9.2.1",
    "POST of a user without <IPAddress>/<MACAddress> is accepted instead of -2",
    "users-post-rules",
)
POST_LEVEL_OK = F.declare(
    "users-post-level-unchecked", "9.2.1", "POST may add an Adminstrator user", "users-post-rules"
)
OVERFLOW_WRONG_CODE = F.declare(
    "users-overflow-wrong-code",
    "9.2.1",
    "a POST beyond the device's maximum (16 users) is refused with -12 Invalid operation instead of -11 User overflow",
    "users-overflow",
)
PASSWORD_KEPT = F.declare(
    "users-password-not-changed",
    "9.2.1",
    "PUT of a user's password answers 0 and keeps the old password",
    "users-put-changes-password",
)
EMPTY_PASSWORD_CLEARS = F.declare(
    "users-empty-password-clears",
    "9.2.1",
    "PUT with <Password/> empty sets an empty password instead of keeping it",
    "users-empty-password-keeps",
)
PUT_LEVEL_OK = F.declare(
    "users-put-level-accepted",
    "9.2.1",
    "PUT with a non-empty <UserLevel> changes the level (a Normal user becomes Adminstrator)",
    "users-put-password-only",
)
DELETE_KEPT = F.declare("users-delete-not-removed", "9.2.1", "DELETE of a user answers 0 and keeps it", "users-delete")
USER_LOG_MISSING = F.declare(
    "log-user-ops-missing",
    "9.2.10",
    "adding and deleting users leaves no 4/301, 4/302 log entries",
    "log-operation-types",
    ("add user 4/301",),
)
LOG_TIME_UNFILTERED = F.declare(
    "log-time-filter-ignored",
    "9.2.10",
    "/System/Logging ignores startTime/stopTime",
    "log-time-filter",
)
LOG_BAD_QUERY_OK = F.declare(
    "log-bad-query-ignored",
    "9.2.10",
    "malformed /System/Logging parameters are ignored instead of refused with -5",
    "log-bad-query-refused",
)
LOG_UNFILTERED = F.declare(
    "log-filter-ignored",
    "9.2.10",
    "/System/Logging ignores majorType/minorType and returns every entry",
    "log-type-filter",
)


# -- 9.2.11, 9.2.12, 9.2.1 (second): users --------------------------------------------------------


def _user_body(ctx: Ctx) -> tuple[dict, set[str]]:
    """Decode a User block; also return which elements were present at all (empty or not)."""
    element = parse_xml(ctx.body)
    decoded = decode(BLOCKS["User"], element)
    present = {local(c.tag) for c in element if isinstance(c.tag, str)}
    if decoded.errors:
        raise ApiError(Status.PARAMETER_ERROR, "; ".join(decoded.errors))
    return decoded.doc, present


def _require(present: set[str], *names: str) -> None:
    missing = [n for n in names if n not in present]
    if missing:
        raise ApiError(Status.REQUIRED_TAG_MISSING, f"<{'>, <'.join(missing)}> must be included (9.2.1)")


@handles("/System/Users/{N}", "POST")
async def users_add(ctx: Ctx) -> web.StreamResponse:
    if ctx.params["N"] != 1:
        raise ApiError(Status.URL_ERROR, "users are added with POST /System/Users/1 (9.2.1)")
    doc, present = _user_body(ctx)
    if not ctx.camera.faults.on(POST_TAGS_OK):
        _require(present, "ID", "UserName", "Password", "UserLevel", "IPAddress", "MACAddress")
    if doc.get("ID") and not ctx.camera.faults.on(POST_ID_OK):
        raise ApiError(Status.PARAMETER_ERROR, "<ID> must be empty when adding a user (9.2.1)")
    name, password = doc.get("UserName", ""), doc.get("Password", "")
    if not name or not password:
        raise ApiError(Status.REQUIRED_TAG_MISSING, "<UserName> and <Password> must not be empty")
    if doc.get("UserLevel", "Normal") not in ("", "Normal") and not ctx.camera.faults.on(POST_LEVEL_OK):
        raise ApiError(Status.PARAMETER_ERROR, 'only "Normal" users can be added (9.2.1)')
    users = ctx.device.users()
    if any(u.get("UserName") == name for u in users) and not ctx.camera.faults.on(DUPLICATE_USER_OK):
        raise ApiError(Status.USER_EXISTS, f"user {name!r} exists")
    if len(users) >= MAX_USERS:
        code = Status.INVALID_OPERATION if ctx.camera.faults.on(OVERFLOW_WRONG_CODE) else Status.USER_OVERFLOW
        raise ApiError(code, f"the device holds at most {MAX_USERS} users")
    new_id = max(int(u["ID"]) for u in users) + 1
    users.append(
        {
            "ID": str(new_id),
            "UserName": name,
            "Password": password,
            "UserLevel": doc.get("UserLevel") or "Normal",
            "IPAddress": "",
            "MACAddress": "",
        }
    )
    ctx.device.store.commit(resources={"/System/Users": {"User": users}})
    if not ctx.camera.faults.on(USER_LOG_MISSING):
        ctx.device.log_event(4, 301, ctx.caller)
    resp = status_response(ctx.camera, ctx.url, Status.OK)
    resp.headers["Location"] = f"/System/Users/{new_id + 1}"
    return resp


@handles("/System/Users/{N}", "PUT")
async def users_update(ctx: Ctx) -> web.StreamResponse:
    doc, present = _user_body(ctx)
    _require(present, "UserLevel")
    if doc.get("UserLevel") and not ctx.camera.faults.on(PUT_LEVEL_OK):
        raise ApiError(Status.PARAMETER_ERROR, "<UserLevel> must be empty: only the password can change (9.2.1)")
    users = ctx.device.users()
    target = next(u for u in users if int(u["ID"]) == ctx.params["N"] - 1)
    if doc.get("UserName") and doc["UserName"] != target["UserName"]:
        raise ApiError(Status.XML_URL_MISMATCH, f"<UserName> {doc['UserName']!r} is not user {ctx.params['N']}")
    if doc.get("UserLevel"):  # fault PUT_LEVEL_OK only
        target["UserLevel"] = doc["UserLevel"]
    if doc.get("Password") and not ctx.camera.faults.on(PASSWORD_KEPT):
        target["Password"] = doc["Password"]
    elif "Password" in present and not doc.get("Password") and ctx.camera.faults.on(EMPTY_PASSWORD_CLEARS):
        target["Password"] = ""
    ctx.device.store.commit(resources={"/System/Users": {"User": users}})
    ctx.device.log_event(4, 303, ctx.caller)
    return status_response(ctx.camera, ctx.url, Status.OK)


@handles("/System/Users/{N}", "DELETE")
async def users_delete(ctx: Ctx) -> web.StreamResponse:
    users = ctx.device.users()
    target = next(u for u in users if int(u["ID"]) == ctx.params["N"] - 1)
    if ctx.body.strip():
        doc, _ = _user_body(ctx)
        if doc.get("UserName") and doc["UserName"] != target["UserName"]:
            raise ApiError(Status.XML_URL_MISMATCH, f"<UserName> {doc['UserName']!r} is not user {ctx.params['N']}")
    if target["ID"] == "0" and not ctx.camera.faults.on(ADMIN_DELETABLE):
        raise ApiError(Status.INVALID_OPERATION, "the admin user (ID 0) cannot be deleted (9.2.1)")
    if not ctx.camera.faults.on(DELETE_KEPT):
        users.remove(target)
    ctx.device.store.commit(resources={"/System/Users": {"User": users}})
    if not ctx.camera.faults.on(USER_LOG_MISSING):
        ctx.device.log_event(4, 302, ctx.caller)
    return status_response(ctx.camera, ctx.url, Status.OK)


# -- 9.3.1 /Security/UserAuth ----------------------------------------------------------------------


@handles("/Security/UserAuth", "PUT")
async def user_auth(ctx: Ctx) -> web.StreamResponse:
    form = parse_qs(ctx.body.decode("utf-8", "replace"), keep_blank_values=True)
    if "Username" not in form or "Password" not in form:
        raise ApiError(Status.REQUIRED_TAG_MISSING, "the body must be Username=...&Password=... (9.3.1)")
    user = form["Username"][0]
    refused = await password_turn(ctx.camera, ctx.request, user)  # a password oracle too (http.py Rule 6)
    if refused is not None:
        return refused
    ok = ctx.device.authenticate(user, form["Password"][0]) is not None
    password_judged(ctx.camera, ctx.request, user, ok)
    if ok or ctx.camera.faults.on(USERAUTH_ALWAYS):
        return status_response(ctx.camera, ctx.url, Status.OK)
    ctx.device.log_event(6, 504, ctx.caller)  # illegal visit
    raise ApiError(Status.INVALID_OPERATION, "wrong user name or password")


# -- 9.2.10 /System/Logging ------------------------------------------------------------------------

LOG_TIME = "%Y-%m-%dT%H:%M:%S"  # "The format of startTime and stopTime is YYYY-MM-DDThh:mm:ss"
ANY_MINOR = {1: 0, 2: 100, 3: 200, 4: 300, 5: 400, 6: 500, 7: 600}


@handles("/System/Logging", "GET")
async def logging_query(ctx: Ctx) -> web.StreamResponse:
    q = ctx.request.query
    try:
        major = int(q.get("majorType", "8"))
        minor = int(q.get("minorType", "0"))
        start = datetime.strptime(q["startTime"], LOG_TIME) if "startTime" in q else None
        stop = datetime.strptime(q["stopTime"], LOG_TIME) if "stopTime" in q else None
    except ValueError as exc:
        if not ctx.camera.faults.on(LOG_BAD_QUERY_OK):
            raise ApiError(Status.PARAMETER_ERROR, f"bad log query: {exc} (9.2.10)") from None
        major, minor, start, stop = 8, 0, None, None
    if major not in range(1, 9):
        raise ApiError(Status.PARAMETER_ERROR, f"majorType {major} is not 1-8 (9.2.10)")
    if major != 8 and minor != ANY_MINOR[major] and not (ANY_MINOR[major] < minor < ANY_MINOR[major] + 100):
        raise ApiError(Status.PARAMETER_ERROR, f"minorType {minor} does not belong to majorType {major}")
    entries = []
    for e in ctx.device.store.extra("log", []):
        when = datetime.strptime(e["time"], LOG_TIME)
        if not ctx.camera.faults.on(LOG_UNFILTERED):
            if major != 8 and e["majorType"] != major:
                continue
            if major != 8 and minor != ANY_MINOR[major] and e["minorType"] != minor:
                continue
        if ((start and when < start) or (stop and when > stop)) and not ctx.camera.faults.on(LOG_TIME_UNFILTERED):
            continue
        entries.append({k: str(v) for k, v in e.items()})
    return xml_response(ctx.camera, "LogList", {"Log": entries})


# -- 9.11 /Disk ------------------------------------------------------------------------------------


@handles("/Disk", "PUT")
async def disk_put(ctx: Ctx) -> web.StreamResponse:
    if ctx.camera.faults.on(DISK_PUT_OK):
        return status_response(ctx.camera, ctx.url, Status.OK)
    raise ApiError(Status.UNSUPPORTED_OPERATION, "PUT /Disk is currently not supported (9.11)")


# -- 9.1.8 / 9.1.9 WiFi parameter test -----------------------------------------------------------

WIFI_NEVER_READY = F.declare(
    "wifi-test-never-ready",
    "9.1.9",
    "WifiParamTestStatus still answers -14 long after the 30 s of the test",
    "wifi-test-result",
)
WIFI_ALWAYS_CONNECTED = F.declare(
    "wifi-test-always-connected",
    "9.1.8",
    "the WiFi test reports connected for an SSID no access point has",
    "wifi-test-unknown-ssid",
)
WIFI_SIGNAL_RANGE = F.declare(
    "wifi-ap-signal-out-of-range",
    "9.1.7.1.2",
    "WIFIAccessPointList reports SignalValue 120 (valid: 0-100)",
    "wifi-ap-list-values",
)
WIRELESS_ON_WIRED = F.declare(
    "wireless-on-wired-card",
    "9.1.7.1.2",
    "the wireless resources answer on the wired card 1 instead of -3 (ERRATA.md L8)",
    "wireless-only-card-2",
)
PTZ_CHANNEL = F.declare(
    "ptz-channel-unchecked",
    "9.12",
    "PTZ commands on ChannelID 2 are answered like channel 1 instead of -4",
    "ptz-wrong-channel",
)


@handles("/Network/WifiParamTest", "PUT")
async def wifi_param_test(ctx: Ctx) -> web.StreamResponse:
    decoded = decode(BLOCKS["ConnectionConfig"], parse_xml(ctx.body))
    if decoded.errors:
        raise ApiError(Status.PARAMETER_ERROR, "; ".join(decoded.errors))
    doc = decoded.doc
    aps = (ctx.device.store.get("/Network/Interfaces/2/WIFIAccessPointList") or {}).get("AccessPoint", [])
    known = any(ap.get("SSID") == doc.get("SSID") for ap in aps)
    key = ((doc.get("WPA") or {}).get("Key") or {}).get("KeyValue", "")
    good = known and (doc.get("AuthMode") not in ("WPAPSK", "WPA2PSK") or 8 <= len(key) <= 63)
    ctx.device.store.commit(
        extra={
            "wifi_test": {
                "ready_at": time.time() + ctx.device.scaled(WIFI_TEST_S),
                "result": "connected" if good else "disconnect",
            }
        }
    )
    return status_response(ctx.camera, ctx.url, Status.OK)


@handles("/Network/WifiParamTestStatus", "GET")
async def wifi_param_test_status(ctx: Ctx) -> web.StreamResponse:
    test = ctx.device.store.extra("wifi_test")
    if test is None:
        return xml_response(ctx.camera, "WIFIStatusForTest", {"Status": "disconnect"})
    if time.time() < test["ready_at"] or ctx.camera.faults.on(WIFI_NEVER_READY):
        raise ApiError(Status.BUSY, "the WiFi test runs for 30 s (9.1.8)")
    result = "connected" if ctx.camera.faults.on(WIFI_ALWAYS_CONNECTED) else test["result"]
    return xml_response(ctx.camera, "WIFIStatusForTest", {"Status": result})


@computed("WiFiAccessPointList")
def _access_points(device: Device, key: str, doc: dict, caller: Caller) -> dict:
    if device.faults.on(WIFI_SIGNAL_RANGE):
        doc = {"AccessPoint": [{**ap, "SignalValue": "120"} for ap in doc.get("AccessPoint", [])]}
    return doc


@web.middleware
async def _aliases(request: web.Request, handler: Any) -> web.StreamResponse:
    """Faults that answer one identifier like another: PTZ channel N as 1, wired card 1 as wireless 2."""
    camera = request.app[CAMERA]
    path = request.path
    if camera.faults.on(PTZ_CHANNEL) and re.match(r"/PTZ/[0-9]+/", path):
        path = re.sub(r"^/PTZ/[0-9]+/", "/PTZ/1/", path)
    if camera.faults.on(WIRELESS_ON_WIRED) and re.match(r"/Network/Interfaces/1/(WIFI|Wireless)", path, re.I):
        path = path.replace("/Interfaces/1/", "/Interfaces/2/", 1)
    if path != request.path:
        request = request.clone(rel_url=request.rel_url.with_path(path))
    return await handler(request)


MIDDLEWARES.append(_aliases)


# -- 9.12 PTZ: form bodies, speed 1-10, calibration busy window -----------------------------------

PTZ_SPEED = F.declare("ptz-speed-unchecked", "9.12.2", "PTZ speed Param2=11 is accepted", "ptz-speed-range")
PTZ_STOP_REFUSED = F.declare(
    "ptz-stop-refused",
    "9.12",
    "Param1=2 (stop) of FocusFar/FocusNear/ZoomIn/ZoomOut is refused with -5: the firmware knows only start",
    "ptz-start-stop",
)


def _form(ctx: Ctx) -> dict[str, str]:
    form = parse_qs(ctx.body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in form.items()}


@handles("/PTZ/{ChannelID}/Presets/Goto", "PUT")
async def ptz_goto(ctx: Ctx) -> web.StreamResponse:
    form = _form(ctx)
    if form.get("Param1") not in ("103", "85"):
        raise ApiError(Status.PARAMETER_ERROR, "Param1 must be 103 or 85 (9.12.1)")
    if ctx.device.calibrating():
        raise ApiError(Status.BUSY, "autofocus calibration in progress (9.12.1)")
    ctx.device.store.commit(extra={"calibration_until": time.time() + ctx.device.scaled(CALIBRATION_S)})
    ctx.device.log_event(1, 2, ctx.caller)
    return status_response(ctx.camera, ctx.url, Status.OK)


async def ptz_move(ctx: Ctx) -> web.StreamResponse:
    form = _form(ctx)
    if form.get("Param1") not in ("1", "2") or (form.get("Param1") == "2" and ctx.camera.faults.on(PTZ_STOP_REFUSED)):
        raise ApiError(Status.PARAMETER_ERROR, "Param1 must be 1 (start) or 2 (stop) (9.12)")
    speed = form.get("Param2", "1")
    if not re.fullmatch(r"[0-9]+", speed) or not 1 <= int(speed) <= 10:
        if not ctx.camera.faults.on(PTZ_SPEED):
            raise ApiError(Status.PARAMETER_ERROR, f"Param2 speed {speed!r} is not 1-10 (9.12)")
    if ctx.device.calibrating():
        raise ApiError(Status.BUSY, "autofocus calibration in progress (9.12.1)")
    ctx.device.log_event(1, 2, ctx.caller)
    return status_response(ctx.camera, ctx.url, Status.OK)


for _name in ("FocusFar", "FocusNear", "ZoomIn", "ZoomOut"):
    handles(f"/PTZ/{{ChannelID}}/{_name}", "PUT")(ptz_move)
