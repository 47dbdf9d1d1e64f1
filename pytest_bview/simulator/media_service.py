"""Media on the reference camera: RTSP streams, MJPEG, snapshot, forced I-frames, two-way audio,
and the chapter 8 rules of the stream configuration.

The pictures follow the device state: every new RTSP session (and every MJPEG frame) reads the
stream's StreamConfig and the picture settings (OSD, Mosaic, FlipMode, Color) through `settings()`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pytest_bview.simulator import faults as F
from pytest_bview.simulator import media as _media  # noqa: F401  (declares the media faults)
from pytest_bview.simulator import rtsp as _rtsp  # noqa: F401  (declares the RTSP faults)
from pytest_bview.simulator.config import ApiError, decode, parse_xml
from pytest_bview.simulator.device import COMPUTED, ON_COMMIT, Caller, Device, computed
from pytest_bview.simulator.extensions import STARTUP_HOOKS
from pytest_bview.simulator.http import Ctx, handles, status_response
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.facts import RTSP_PATHS
from pytest_bview.spec.status import Status
from pytest_bview.spec.streams import FULL_FRAME_RATE, STREAMS

if TYPE_CHECKING:
    from pytest_bview.simulator.camera import Camera

STREAM_RANGE_UNCHECKED = F.declare(
    "streams-range-unchecked",
    "8",
    "StreamConfig values outside the chapter 8 table (resolution, frame rate, bitrate) are accepted",
    "stream-table-enforced",
)
RESOLUTION_MISSING = F.declare(
    "streams-resolution-missing",
    "8",
    "the middle resolution of each stream's chapter 8 list (main 1024x768, sub 640x360) is refused with -5",
    "stream-table-accepted",
)
CAPABILITY_INCOMPLETE = F.declare(
    "streams-capability-incomplete",
    "9.4.1.1",
    "CapabilityV2 offers only the 1920x1080 main-stream resolution, not 1024x768 and 640x512",
    "capability-lists-stream-table",
)
CAPABILITY_UNKEPT = F.declare(
    "streams-capability-unkept",
    "9.4.1.2",
    "CapabilityV2 also advertises a 1280x720 main stream, which PUT /Streams/1/1 refuses with -5",
    "capability-resolutions-accepted",
)
TRANSPORT_LOOPBACK = F.declare(
    "transport-internal-address",
    "9.4.1.2.1",
    "RTSPURI names the device's internal address 127.0.1.1 instead of the host the client used",
    "rtspuri-address",
)
TRANSPORT_PORT = F.declare(
    "transport-wrong-port",
    "9.4.1.2.1",
    "RTSPURI names port 554 although the device serves RTSP elsewhere",
    "rtspuri-address",
)
STALE_CONFIG = F.declare(
    "media-config-stale",
    "9.4.1.2",
    "the streams keep the factory resolution whatever StreamConfig says",
    "stream-config-applies",
)
OSD_NAME_IGNORED = F.declare(
    "media-osd-name-ignored",
    "9.7.1.1",
    "the OSD DisplayName is never drawn, whatever /Pictures/1/OSD says",
    "osd-name-drawn",
)
AUDIO_STATE_UNCHECKED = F.declare(
    "audio-send-while-closed",
    "9.8.3",
    "SendData is accepted while two-way audio is closed",
    "audio-send-needs-open",
)


def _int(doc: dict[str, Any], *names: str, default: int = 0) -> int:
    for name in names:
        value = doc.get(name)
        if value not in (None, ""):
            try:
                return int(value)
            except ValueError:
                pass
    return default


def settings(device: Device, stream_id: int) -> Any:
    """The VideoSettings a stream shows now, from the device state."""
    from pytest_bview.simulator.media import Mosaic, OsdItem, VideoSettings

    get = device.store.get
    cfg = get(f"/Streams/1/{stream_id}") or {}
    osd, mosaic = get("/Pictures/1/OSD") or {}, get("/Pictures/1/Mosaic") or {}
    basic, color = get("/Images/1/Basic") or {}, get("/Images/1/Color") or {}
    spec = STREAMS[stream_id]
    if device.faults.on(STALE_CONFIG):
        cfg = {**cfg, "ResolutionWidth": spec.default_resolution[0], "ResolutionHeigth": spec.default_resolution[1]}
    rate = _int(cfg, "FrameRate", default=spec.default_fps * 100)
    fps = spec.fps[1] if rate == FULL_FRAME_RATE else max(1.0, rate / 100)
    t, n = osd.get("DisplayTime") or {}, osd.get("DisplayName") or {}
    regions = tuple(
        (_int(r, "TopLeftX"), _int(r, "TopLeftY"), _int(r, "BottomRightX"), _int(r, "BottomRightY"))
        for r in (mosaic.get("MosaicRegionList") or {}).get("Region", [])
    )
    return VideoSettings(
        width=_int(cfg, "ResolutionWidth", default=spec.default_resolution[0]),
        height=_int(cfg, "ResolutionHeigth", "ResolutionHeight", default=spec.default_resolution[1]),
        fps=fps,
        bitrate_kbps=_int(cfg, "Bitrate", default=spec.default_bitrate_kbps or 2048),
        osd_time=OsdItem(t.get("Enable") == "true", _int(t, "PosX"), _int(t, "PosY")),
        osd_name=OsdItem(
            n.get("Enable") == "true" and not device.faults.on(OSD_NAME_IGNORED),
            _int(n, "PosX"),
            _int(n, "PosY"),
            str(n.get("Name", "")),
        ),
        mosaic=Mosaic(mosaic.get("Enable") == "true", regions),
        flip=basic.get("FlipMode", "close") if basic.get("FlipMode") != "notsupport" else "close",
        brightness=_int(color, "Brightness", default=50),
        contrast=_int(color, "Contrast", default=50),
        saturation=_int(color, "Saturation", default=50),
    )


# -- chapter 8: what PUT /Streams/1/N accepts ----------------------------------------------------------


def _stream_rule(stream_id: int) -> Any:
    spec = STREAMS[stream_id]

    def check(device: Device, doc: dict[str, Any]) -> None:
        if device.faults.on(STREAM_RANGE_UNCHECKED):
            return
        size = (_int(doc, "ResolutionWidth"), _int(doc, "ResolutionHeigth", "ResolutionHeight"))
        if size not in spec.resolutions or (device.faults.on(RESOLUTION_MISSING) and size == spec.resolutions[1]):
            allowed = ", ".join(f"{w}x{h}" for w, h in spec.resolutions)
            raise ApiError(Status.PARAMETER_ERROR, f"{size[0]}x{size[1]} is not a {spec.name} resolution ({allowed})")
        rate = _int(doc, "FrameRate")
        lo, hi = spec.fps
        if rate != FULL_FRAME_RATE and not lo * 100 <= rate <= hi * 100:
            raise ApiError(Status.PARAMETER_ERROR, f"FrameRate {rate} is not {lo * 100}-{hi * 100} or 25500 (8)")
        if spec.bitrate_kbps and doc.get("Bitrate") not in (None, ""):
            blo, bhi = spec.bitrate_kbps
            if not blo <= _int(doc, "Bitrate") <= bhi:
                raise ApiError(Status.PARAMETER_ERROR, f"Bitrate {doc['Bitrate']} is not {blo}-{bhi} kbps (8)")
        if stream_id != 1:
            # 9.4.1.2: for sub-streams StreamType, VideoCodecType, FixedQuality are invalid; CBR always
            old = device.store.get(f"/Streams/1/{stream_id}") or {}
            for name in ("StreamType", "VideoCodecType", "FixedQuality"):
                if name in old:
                    doc[name] = old[name]
            doc["BitrateType"] = "CBR"

    return check


for _sid in STREAMS:
    ON_COMMIT[f"/Streams/1/{_sid}"] = _stream_rule(_sid)


_plain_transport = COMPUTED["Transport"]


@computed("Transport")
def _transport(device: Device, key: str, doc: dict[str, Any], caller: Caller) -> dict[str, Any]:
    doc = _plain_transport(device, key, doc, caller)
    uri = str(doc.get("RTSPURI", ""))
    if device.faults.on(TRANSPORT_LOOPBACK):
        uri = uri.replace(f"rtsp://{caller.host}:", "rtsp://127.0.1.1:", 1)
    if device.faults.on(TRANSPORT_PORT):
        uri = uri.replace(f":{device.rtsp_port}/", ":554/" if device.rtsp_port != 554 else ":8554/", 1)
    doc["RTSPURI"] = uri
    return doc


@computed("StreamCapability")
def _capability(device: Device, key: str, doc: dict[str, Any], caller: Caller) -> dict[str, Any]:
    if device.faults.on(CAPABILITY_INCOMPLETE):
        mains = (doc.get("MainStreamCapabilityList") or {}).get("MainStreamCapability") or []
        doc = {**doc, "MainStreamCapabilityList": {"MainStreamCapability": mains[:1]}}
    if device.faults.on(CAPABILITY_UNKEPT):
        mains = (doc.get("MainStreamCapabilityList") or {}).get("MainStreamCapability") or []
        extra = {**mains[0], "ResolutionWidth": "1280", "ResolutionHeight": "720"}  # not in the chapter 8 table
        doc = {**doc, "MainStreamCapabilityList": {"MainStreamCapability": [*mains, extra]}}
    return doc


# -- services ------------------------------------------------------------------------------------------


async def start_rtsp(camera: Camera) -> Any:
    if not camera.options.media:
        return None
    from pytest_bview.simulator.media import StreamHub
    from pytest_bview.simulator.rtsp import RtspServer

    device = camera.device
    assert device is not None
    hubs = {
        path: StreamHub(path, (lambda sid=sid: settings(camera.live, sid)), faults=camera.faults)  # type: ignore[misc]
        for sid, path in RTSP_PATHS.items()
    }
    server = RtspServer(
        camera.options.bind,
        camera.rtsp_port,
        hubs,
        authenticate=lambda u, p: camera.device.authenticate(u, p) is not None,  # type: ignore[union-attr]
        password_of=lambda u: camera.device.password_of(u),  # type: ignore[union-attr]
        time_scale=camera.options.time_scale,
        faults=camera.faults,
    )
    await server.start()
    camera.rtsp_port = server.port
    camera.extensions["hubs"] = hubs
    return _Media(server, hubs)


class _Media:
    def __init__(self, server: Any, hubs: dict[str, Any]) -> None:
        self.server, self.hubs = server, hubs

    async def stop(self) -> None:
        await self.server.stop()
        for hub in self.hubs.values():
            await hub.close()


STARTUP_HOOKS.append(start_rtsp)


# -- HTTP media resources --------------------------------------------------------------------------------


@handles("/System/{ChannelID}/RemoteForceFrame", "PUT")
async def remote_force_frame(ctx: Ctx) -> web.StreamResponse:
    """9.2.2: force an I-frame on the streams being played."""
    for hub in ctx.camera.extensions.get("hubs", {}).values():
        hub.force_idr()
    return status_response(ctx.camera, ctx.url, Status.OK)


@handles("/Streams/{ChannelID}/4/ReceiveData", "GET")
async def mjpeg(ctx: Ctx) -> web.StreamResponse:
    """9.4.1.2.2: the Motion JPEG stream of the 4th stream."""
    from pytest_bview.simulator.media import mjpeg_response

    return await mjpeg_response(ctx.request, lambda: settings(ctx.device, 4), faults=ctx.camera.faults)


@handles("/Snapshot/{ChannelID}/RemoteImageCapture", "GET")
async def snapshot(ctx: Ctx) -> web.StreamResponse:
    """9.5.1: a JPEG at the 4th stream's resolution; ImageFormat 2 (jpg) is the only format."""
    from pytest_bview.simulator.media import snapshot_jpeg, snapshot_settings

    fmt = ctx.request.query.get("ImageFormat", "2")
    if fmt != "2":
        raise ApiError(Status.PARAMETER_ERROR, f"ImageFormat {fmt!r}: only 2 (jpg) is supported (9.5.1)")
    chosen = snapshot_settings(settings(ctx.device, 4), settings(ctx.device, 1), ctx.camera.faults)
    body = await asyncio.get_running_loop().run_in_executor(None, snapshot_jpeg, chosen, ctx.camera.faults)
    return web.Response(body=body, content_type="image/jpeg")


# -- 9.8 two-way audio ------------------------------------------------------------------------------------

AUDIO_KEY = "twoway_audio"


def _audio(ctx: Ctx) -> dict[str, Any]:
    return ctx.camera.extensions.setdefault(AUDIO_KEY, {"open": False, "mode": None, "sent": None})


@handles("/TwowayAudio/Open", "PUT")
async def audio_open(ctx: Ctx) -> web.StreamResponse:
    decoded = decode(BLOCKS["TwoWayAudio"], parse_xml(ctx.body))
    if decoded.errors:
        raise ApiError(Status.PARAMETER_ERROR, "; ".join(decoded.errors))
    if "VoiceMode" not in decoded.doc:
        raise ApiError(Status.REQUIRED_TAG_MISSING, "<VoiceMode> is required (9.8.1)")
    state = _audio(ctx)
    if state["open"]:
        raise ApiError(Status.INVALID_OPERATION, "two-way audio is already open")
    state.update(open=True, mode=decoded.doc["VoiceMode"], sent=None)
    return status_response(ctx.camera, ctx.url, Status.OK)


@handles("/TwowayAudio/Close", "PUT")
async def audio_close(ctx: Ctx) -> web.StreamResponse:
    state = _audio(ctx)
    if not state["open"]:
        raise ApiError(Status.INVALID_OPERATION, "two-way audio is not open")
    state.update(open=False, mode=None, sent=None)
    return status_response(ctx.camera, ctx.url, Status.OK)


@handles("/TwowayAudio/SendData", "PUT")
async def audio_send(ctx: Ctx) -> web.StreamResponse:
    state = _audio(ctx)
    if not state["open"] and not ctx.camera.faults.on(AUDIO_STATE_UNCHECKED):
        raise ApiError(Status.INVALID_OPERATION, "open two-way audio first (9.8.1)")
    ctype = ctx.request.headers.get("Content-Type", "")
    if not ctype.startswith("audio/basic"):
        raise ApiError(Status.PARAMETER_ERROR, f"Content-Type {ctype!r}: audio/basic expected (9.8.3)")
    state["sent"] = ctx.body
    return status_response(ctx.camera, ctx.url, Status.OK)


@handles("/TwowayAudio/ReceiveData", "GET")
async def audio_receive(ctx: Ctx) -> web.StreamResponse:
    from pytest_bview.simulator.media import captured_audio

    state = _audio(ctx)
    if not state["open"]:
        raise ApiError(Status.INVALID_OPERATION, "open two-way audio first (9.8.1)")
    body = captured_audio(state["sent"], 1.0, ctx.camera.faults)
    return web.Response(body=body, content_type="audio/basic")
