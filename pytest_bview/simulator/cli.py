"""`bview-sim`: the reference camera as a program.

When ready it prints exactly one JSON line on stdout with its ports, then serves until
SIGTERM/SIGINT, on which it stops cleanly and keeps its state.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import sys
from pathlib import Path

from pytest_bview.console import quiet_broken_pipe
from pytest_bview.simulator import faults as F
from pytest_bview.simulator.camera import Camera, CameraOptions
from pytest_bview.simulator.catalog import load_all
from pytest_bview.simulator.device import Identity


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bview-sim", description="B-View 2 reference camera (simulator)")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--http-port", type=int, default=0, help="HTTP port (0 = ephemeral)")
    p.add_argument("--rtsp-port", type=int, default=0, help="RTSP port (0 = ephemeral)")
    p.add_argument("--discovery-port", type=int, default=5566, help="Discovery V2 UDP port")
    p.add_argument("--ssdp-port", type=int, default=1900, help="SSDP port (0 = ephemeral, unicast only)")
    p.add_argument("--state-dir", type=Path, default=Path("state"), help="persistent configuration directory")
    p.add_argument("--time-scale", type=float, default=1.0, help="multiplies every device-imposed duration")
    p.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="answer every HTTP request this many ms late, as a real camera's processing time (times --time-scale)",
    )
    p.add_argument("--fault", action="append", default=[], metavar="NAME", help="switch on a fault profile")
    p.add_argument("--list-faults", action="store_true", help="list the fault profiles and exit")
    p.add_argument(
        "--variant", action="append", default=[], metavar="NAME", help="switch on a conformant variant (repeatable)"
    )
    p.add_argument("--list-variants", action="store_true", help="list the conformant variants and exit")
    p.add_argument("--model", default=Identity.model, help="DeviceTypeName")
    p.add_argument("--firmware", default=Identity.firmware, help="SoftWareVersion")
    p.add_argument("--serial", help="SerialNum (default: the one given to this state directory at its first start)")
    p.add_argument(
        "--mac", help="wired MAC address (default: the one given to this state directory at its first start)"
    )
    p.add_argument(
        "--interface",
        help="manage this network interface: a saved address is set on it, DHCP runs a real client on it "
        "(needs CAP_NET_ADMIN; for a camera in a network namespace)",
    )
    p.add_argument("--user", default="admin", help="admin user name")
    p.add_argument(
        "--password",
        help=f"admin password (factory value); visible to other users in `ps`: prefer {PASSWORD_ENV} or --password-file",
    )
    p.add_argument("--password-file", type=Path, help="read the admin password from the first line of this file")
    p.add_argument("--no-discovery", action="store_true", help="do not answer Discovery V2 / SSDP")
    p.add_argument(
        "--https", action="store_true", help="serve https with a self-signed certificate (its path: 'certificate')"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    return p


PASSWORD_ENV = "BVIEW_SIM_PASSWORD"
DEFAULT_PASSWORD = "admin"


def admin_password(args: argparse.Namespace) -> str:
    """--password-file, then --password, then $BVIEW_SIM_PASSWORD, then the factory "admin"."""
    if args.password_file is not None:
        lines = args.password_file.read_text("utf-8").splitlines()
        if not lines or not lines[0]:
            raise ValueError(f"{args.password_file}: the first line (the password) is empty")
        return lines[0]
    return args.password or os.environ.get(PASSWORD_ENV) or DEFAULT_PASSWORD


log = logging.getLogger("bview.sim")
IDENTITY_FILE = "identity.json"


def factory_identity(state_dir: Path, mac: str | None = None, serial: str | None = None) -> tuple[str, str]:
    """The MAC and serial of the camera whose state is `state_dir`, as a factory burns them in.

    A new state directory gets a MAC of the reference camera's OUI with a random device part and a
    random serial (or `--mac` / `--serial`), kept in `identity.json`, so two cameras on one host never
    share a MAC, a serial or (derived from the MAC) a UPnP UUID. An existing directory keeps its
    identity: a different `--mac` / `--serial` is refused with a warning, since its stored
    configuration already carries them. A directory holding a configuration from before identities
    were kept has the historical defaults.
    """
    path = state_dir / IDENTITY_FILE
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kept = None
    if not isinstance(kept, dict) or not {"mac", "serial"} <= kept.keys():
        kept = {"mac": Identity.mac, "serial": Identity.serial} if (state_dir / "config.json").exists() else None
    if kept is None:
        kept = {
            "mac": mac or Identity.mac[:8] + "".join(f":{b:02X}" for b in secrets.token_bytes(3)),
            "serial": serial or f"{Identity.serial[:4]}{secrets.randbelow(10**8):08d}",
        }
    else:
        for name, wanted in (("mac", mac), ("serial", serial)):
            if wanted and wanted != kept[name]:
                log.warning("%s is the camera with %s %s: --%s %s ignored (use a new --state-dir)",
                            state_dir, name, kept[name], name, wanted)  # fmt: skip
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(kept) + "\n", encoding="utf-8")
    return kept["mac"], kept["serial"]


def list_faults() -> str:
    rows = load_all().values()
    width = max(len(f.name) for f in rows)
    return "\n".join(f"{f.name:<{width}}  {f.section:<10} {f.doc}" for f in rows)


async def serve(options: CameraOptions) -> None:
    camera = Camera(options)
    await camera.start()
    print(json.dumps(camera.ports), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await camera.stop()


def make_firmware(argv: list[str]) -> int:
    """`bview-sim make-firmware --version 2.0.1 [--model M] -o fw.pkg`: a package of the reference camera."""
    from pytest_bview.simulator.maintenance import make_package

    p = argparse.ArgumentParser(prog="bview-sim make-firmware", description="build a firmware package (9.2.6)")
    p.add_argument("--version", required=True, help="SoftWareVersion the package installs, e.g. 2.0.1")
    p.add_argument("--model", default=Identity.model, help="DeviceTypeName the package is built for")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .pkg file to write")
    args = p.parse_args(argv)
    try:
        data = make_package(args.model, args.version)
    except ValueError as exc:
        print(f"bview-sim make-firmware: {exc}", file=sys.stderr)
        return 2
    args.output.write_bytes(data)
    print(f"{args.output}: {args.model} {args.version}, {len(data)} bytes")
    return 0


@quiet_broken_pipe
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["make-firmware"]:
        return make_firmware(argv[1:])
    args = parser().parse_args(argv)
    if args.list_faults:
        print(list_faults())
        return 0
    if args.list_variants:
        from pytest_bview.simulator.variants import listing

        print(listing())
        return 0
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    try:
        faults = F.Faults(args.fault)
        password = admin_password(args)
        from pytest_bview.simulator.variants import Variants

        variants = Variants(args.variant)
    except (ValueError, OSError) as exc:
        print(f"bview-sim: {exc}", file=sys.stderr)
        return 2
    mac, serial = factory_identity(args.state_dir, args.mac, args.serial)
    identity = Identity(
        model=args.model,
        firmware=args.firmware,
        serial=serial,
        mac=mac,
        ip=args.bind if args.bind not in ("0.0.0.0", "::") else "127.0.0.1",
        user=args.user,
        password=password,
    )
    options = CameraOptions(
        bind=args.bind,
        http_port=args.http_port,
        rtsp_port=args.rtsp_port,
        discovery_port=args.discovery_port,
        ssdp_port=args.ssdp_port,
        state_dir=args.state_dir,
        time_scale=args.time_scale,
        latency_ms=args.latency_ms,
        faults=tuple(faults.names),
        identity=identity,
        discovery=not args.no_discovery,
        https=args.https,
        interface=args.interface,
        variants=tuple(sorted(variants.names)),
    )
    try:
        asyncio.run(serve(options))
    except OSError as exc:
        print(f"bview-sim: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
