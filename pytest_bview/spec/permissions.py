"""Who may do what: the operations a careful vendor keeps for the administrator (schemas/ERRATA.md S1).

The spec's tables give most rows the level "Viewer" (open to every user) and a few "Operator" (ERRATA L10).
Taken literally, a Normal user could reset the admin's password, upgrade the firmware or move the camera off
its network. These operations need the administrator ("Adminstrator" UserLevel, 9.2.12); a Normal user is
refused as on an Operator row (HTTP 403, statusCode -12). A Normal user may still change its own password
(PUT of its own /System/Users/N entry).

Rule 1: the table is by (method, template) of `spec.resources`; the reason is what a report shows.
Rule 2: the whole /Network tree (9.1) is network identity or sends data to servers the writer chooses:
        every write there needs the admin.
"""

from __future__ import annotations

from pytest_bview.spec.resources import RESOURCES

# The spec's own example credentials (9.3.1 "Username=admin&Password=admin"): the factory credentials a camera of
# the series ships with, which ETSI EN 303 645 5.1-1 wants gone once the camera is set up.
FACTORY_USER, FACTORY_PASSWORD = "admin", "admin"
# Secrets the spec leaves readable (9.1.7.1.3: the WiFi key is "opt"/"req", not "wo"): the reference camera keeps
# them to itself like a write-only field (ERRATA S3): GET shows them empty, an empty one in a PUT keeps the stored one.
KEPT_SECRETS = frozenset({"KeyValue", "KeyValueB64"})

# Passwords the spec says plainly a GET does not show (rule password-not-retrieved: 9.1.1.2, 9.1.3, 9.1.6), by
# resource and element path; other write-only fields (the users' passwords) have only 6.1.2's "should never".
UNDISPLAYED_PASSWORDS: dict[str, tuple[str, ...]] = {
    "/Network/DDNS/Config": ("Password",),
    "/Network/EMail": ("SenderEmailPassword",),
    "/Network/FTP": ("Password",),
}

OWN_ENTRY = ("PUT", "/System/Users/{N}")  # a Normal user may PUT its own entry (its password)

_SYSTEM: dict[tuple[str, str], str] = {
    ("PUT", "/System/Users/{N}"): "another user's entry (password) (9.2.1 /System/Users/1)",
    ("POST", "/System/Users/{N}"): "adds a user (9.2.1 /System/Users/1)",
    ("DELETE", "/System/Users/{N}"): "deletes a user (9.2.1 /System/Users/1)",
    ("PUT", "/System/Reboot"): "reboots the camera (9.2.7)",
    ("PUT", "/System/FactoryDefault"): "erases the configuration (9.2.8)",
    ("PUT", "/System/FirmwareUpgrade"): "replaces the firmware (9.2.6)",
    ("GET", "/System/DeviceConfigFile"): "exports the whole configuration (9.2.3 /System/DeviceConfigFile)",
    ("PUT", "/System/DeviceConfigFile"): "replaces the whole configuration, users included (9.2.3)",
    ("PUT", "/Record/Format/Call"): "erases the recordings (9.10.4)",
    ("PUT", "/Alarm/AMS/2"): "sends alarms, with credentials, to a server the writer chooses (9.13.1)",
    ("PUT", "/Record/Notify/URL"): "sends event notifications to a URL the writer chooses (9.10.3)",
}

ADMIN_ONLY: dict[tuple[str, str], str] = {
    **{
        (op.method, r.template): f"network identity or outbound servers ({r.section})"
        for r in RESOURCES
        if r.area == "network"
        for op in r.ops
        if op.method != "GET"
    },
    **_SYSTEM,
}


def admin_only(method: str, template: str) -> str | None:
    """Why `method template` needs the administrator, or None when the spec's level applies."""
    return ADMIN_ONLY.get((method, template))
