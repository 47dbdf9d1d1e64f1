"""The reference camera as one asyncio program: HTTP, RTSP and discovery around one `Device`.

`Camera` is the async object (start/stop/reboot); `CameraThread` runs one in a background
thread for in-process use (the plugin's built-in camera, the project's tests), in the manner of
pytest-httpserver: bind port 0, read the real port back, wait until ready, refuse a double
start, work as a context manager.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from pytest_bview.simulator import faults as F
from pytest_bview.simulator.device import Device, Identity
from pytest_bview.simulator.extensions import SIM_ROUTES, STARTUP_HOOKS
from pytest_bview.simulator.http import HEADER_TIMEOUT_S, KEEPALIVE_IDLE_S, PARSER_LIMIT, ConnectionGuard, build_app

log = logging.getLogger("bview.sim")
T = TypeVar("T")


@dataclass
class CameraOptions:
    bind: str = "127.0.0.1"
    http_port: int = 0
    rtsp_port: int = 0
    discovery_port: int = 5566
    ssdp_port: int = 1900  # 0: an ephemeral port answering unicast M-SEARCH only (tests, many cameras)
    state_dir: Path | None = None
    time_scale: float = 1.0
    faults: tuple[str, ...] = ()
    identity: Identity = field(default_factory=Identity)
    discovery: bool = True
    media: bool = True
    https: bool = False  # serve TLS with a self-signed certificate kept in the state directory (simulator/tls.py)
    interface: str | None = None  # manage this network interface's address and DHCP (netif.py; CAP_NET_ADMIN)
    variants: tuple[str, ...] = ()  # conformant variants (variants.py)
    latency_ms: float = 0.0  # every HTTP answer this late (a real camera's processing time), times time_scale


class Camera:
    def __init__(self, options: CameraOptions) -> None:
        self.options = options
        self.faults = F.Faults(options.faults)
        from pytest_bview.simulator import variants as V

        self.variants = V.Variants(options.variants)
        options.identity = V.identity(options.identity, self.variants)
        self.device: Device | None = None
        self.http_port = options.http_port
        self.rtsp_port = options.rtsp_port
        self.discovery_port = options.discovery_port
        self.ssdp_port = options.ssdp_port
        self._runner: web.AppRunner | None = None
        self._server: asyncio.base_events.Server | None = None
        self.guard = ConnectionGuard()
        self._services: list[Any] = []  # objects with async stop()
        self._started = False
        self.extensions: dict[str, Any] = {}  # media hubs, responders... by name
        self.requests_seen: dict[str, int] = {}  # HTTP method -> count (tests prove the readonly tier)
        self.certificate: Path | None = None  # with https: the self-signed certificate (for --bview-ca)

    @property
    def live(self) -> Device:
        """The running device (only between start and stop: a request can only arrive then)."""
        if self.device is None:
            raise RuntimeError("the camera is not running")
        return self.device

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            raise RuntimeError("camera already started")
        opts = self.options
        self.guard = ConnectionGuard()
        # requests are logged at INFO (bview-sim -v); the parser's limits are above the camera's own (http.py Rule 5)
        self._runner = web.AppRunner(
            build_app(self, self.guard),
            access_log=logging.getLogger("bview.sim.http"),
            handle_signals=False,
            keepalive_timeout=KEEPALIVE_IDLE_S,
            max_line_size=PARSER_LIMIT,
            max_field_size=PARSER_LIMIT,
        )
        await self._runner.setup()
        ssl_context = None
        if opts.https:
            from pytest_bview.simulator.tls import server_context

            if opts.state_dir is None:
                opts.state_dir = Path(tempfile.mkdtemp(prefix="bview-sim-"))
            ssl_context, self.certificate = server_context(opts.state_dir, opts.bind)
        # a server of our own around aiohttp's protocol factory: the guard sees every connection (http.py Rule 4)
        self._server = await asyncio.get_running_loop().create_server(
            self.guard.protocol(self._runner.server),  # type: ignore[arg-type]
            opts.bind,
            self.http_port,
            reuse_address=True,
            ssl=ssl_context,
            ssl_handshake_timeout=HEADER_TIMEOUT_S if ssl_context else None,
        )
        self.guard.start()
        self.http_port = self._server.sockets[0].getsockname()[1]
        self.device = Device(
            opts.state_dir,
            opts.identity,
            self.faults,
            opts.time_scale,
            http_port=self.http_port,
            rtsp_port=self.rtsp_port,
        )
        for hook in STARTUP_HOOKS:
            service = await hook(self)
            if service is not None:
                self._services.append(service)
        self.device.rtsp_port = self.rtsp_port
        self.device.sync_ports()
        self._started = True

    async def stop(self) -> None:
        for service in reversed(self._services):
            try:
                await service.stop()
            except Exception:  # stopping must go on whatever one service does
                log.exception("stopping %r", service)
        self._services.clear()
        if self._server is not None:
            self._server.close()  # no new connections; the runner's cleanup closes the open ones
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._server is not None:
            for conn in list(self.guard.conns.values()):  # any the runner did not know of yet
                conn.transport.close()
            await self.guard.stop()
            await asyncio.sleep(0)  # let their connection_lost run before the loop may close
            self._server = None
        self._started = False

    async def reboot(self, boot_seconds: float) -> None:
        """A power cycle in-process (9.2.7): every service stops, `boot_seconds` pass, and they start
        again on the current ports with the Device reloaded from the state directory."""
        await self.stop()
        self.device = None
        await asyncio.sleep(boot_seconds)
        await self.start()

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking step (fsync'ing store writes) without stalling the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def sim_route(self, request: web.Request) -> web.StreamResponse:
        method = "GET" if request.method == "HEAD" else request.method  # http.py Rule 4
        handler = SIM_ROUTES.get((method, request.path))
        if handler is None:
            return web.Response(status=404, text="no such simulator control\n")
        return await handler(self, request)

    @property
    def ports(self) -> dict[str, Any]:
        return {
            "http": self.http_port,
            "rtsp": self.rtsp_port,
            "discovery": self.discovery_port,
            "ssdp": self.ssdp_port,
            "state_dir": str(self.options.state_dir) if self.options.state_dir else None,
        } | ({"certificate": str(self.certificate)} if self.certificate else {})


class CameraThread:
    """A `Camera` on its own event loop in a daemon thread."""

    def __init__(self, options: CameraOptions | None = None, **kwargs: Any) -> None:
        options = options or CameraOptions(**kwargs)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if options.state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="bview-sim-")
            options.state_dir = Path(self._tmp.name)
        self.camera = Camera(options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> CameraThread:
        if self._thread is not None:
            raise RuntimeError("camera thread already started")
        ready: Future[None] = Future()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.camera.start())
            except BaseException as exc:  # report start failures to the caller
                ready.set_exception(exc)
                loop.close()
                return
            ready.set_result(None)
            loop.run_forever()
            loop.run_until_complete(self.camera.stop())
            # as asyncio.run ends: a connection's handler still pending (a client that left mid-request)
            # is cancelled and let finish, not destroyed pending with the loop
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="bview-sim", daemon=True)
        self._thread.start()
        ready.result(timeout)
        return self

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine function on the camera's loop and wait for its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(fn(*args), self._loop).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> CameraThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def ports(self) -> dict[str, Any]:
        return self.camera.ports


# The camera's areas, in the order they register (their startup hooks start in it). Each one declares its
# handlers, hooks and faults into http.py, extensions.py and faults.py on import; none imports this module
# but for type annotations (extensions.py Rule 1).
# isort: off
from pytest_bview.simulator import actions  # noqa: E402,F401  users, log, PTZ, WiFi test, Disk
from pytest_bview.simulator import services  # noqa: E402,F401  Discovery V2, SSDP/UPnP
from pytest_bview.simulator import media_service  # noqa: E402,F401  RTSP, MJPEG, snapshot, two-way audio
from pytest_bview.simulator import events  # noqa: E402,F401  events, motion, notify, alarm server, email, FTP
from pytest_bview.simulator import maintenance  # noqa: E402,F401  reboot, factory default, firmware, config file
from pytest_bview.simulator import netif  # noqa: E402,F401  the wired address and DHCP, applied for real
from pytest_bview.simulator import rules  # noqa: E402,F401  cross-field rules of the configuration blocks
from pytest_bview.simulator import hostile  # noqa: E402,F401  hostile-camera profiles
from pytest_bview.simulator import variants  # noqa: E402,F401  conformant variants: differences the spec allows
from pytest_bview.simulator import lab  # noqa: E402,F401  the lab controls under /_sim/ (the kit's lab.py)
# isort: on
