"""The reference camera's media engine: test picture, H.264 encoder, stream hubs, MJPEG, snapshot, audio.

Rule 1: the picture shows every image setting the API can change (8, 9.6.1.2 FlipMode, 9.6.1.3 Color,
        9.7.1.1 OSD, 9.7.1.4 Mosaic), so a client can see each one in the decoded video.
Rule 2: settings are read when a session starts; a new configuration shows in the next session
        (a running encoder whose settings differ is restarted when a client joins).
Rule 3: the event loop never waits for the encoder: encoding runs in one thread per playing hub,
        access units are fanned out on the loop to bounded per-client queues; a slow client loses
        frames up to the next key frame, never the others' frames.
Rule 4: coordinates in the API are in a 704x576 space (PosX 0-703, PosY 0-575) and are scaled to
        the stream's resolution.

Rule 5: the picture carries detail that changes every frame (sensor noise on the luma, like a real
        sensor's), so the CBR encoder spends the configured bit rate on picture: at the main stream's
        default configuration filler data (NAL type 12) is under 10 % of the bytes (tests measure it;
        a flat picture made it about 85 %). Noise averages out in the block means the checks use.

Picture layout (before flip): the top two thirds are 75 % colour bars (white ... blue, left to right),
the bottom third a luma ramp (black left, white right); a box moves left to right across the bars,
sensor noise covers the scene, a frame counter sits bottom left. Flip mirrors this scene; OSD and
mosaic are overlaid afterwards (a privacy mask hides the scene, the OSD is drawn on top of everything).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from pytest_bview.protocol.audio import ulaw_encode
from pytest_bview.simulator.faults import declare

if TYPE_CHECKING:
    from aiohttp import web

SPACE_W, SPACE_H = 704, 576  # 9.7.1.1 / 9.7.1.4: PosX 0-703, PosY 0-575

HALF_FRAME_RATE = declare(
    "media-half-frame-rate",
    "8",
    "streams deliver half the configured frame rate",
    breaks="stream-frame-rate",
)
WRONG_RESOLUTION = declare(
    "media-wrong-resolution",
    "8",
    "the encoder runs at 3/4 of the configured width and height",
    breaks="stream-resolution",
)
BITRATE_HALVED = declare(
    "media-bitrate-halved",
    "9.4.1.2",
    "the encoder runs at half the configured Bitrate",
    breaks="stream-bitrate-cbr",
)
NO_IDR_ON_FORCE = declare(
    "media-no-idr-on-force",
    "9.2.2",
    "RemoteForceFrame is acknowledged but no IDR frame follows",
    breaks="force-iframe",
)
MOSAIC_IGNORED = declare(
    "media-mosaic-ignored",
    "9.7.1.4",
    "privacy mask regions are not drawn",
    breaks="mosaic-masks-picture",
)
FLIP_IGNORED = declare(
    "media-flip-ignored",
    "9.6.1.2",
    "FlipMode is stored but the picture is not flipped",
    breaks="flip-mode-picture",
)
BRIGHTNESS_IGNORED = declare(
    "media-brightness-ignored",
    "9.6.1.3",
    "Brightness is stored but the picture does not change",
    breaks="brightness-picture",
)
MJPEG_NO_LEADING_BOUNDARY = declare(
    "mjpeg-no-leading-boundary",
    "9.4.1.2.2",
    "the MJPEG body starts with the first part's headers, not with a boundary line",
    breaks="mjpeg-part-framing",
)
MJPEG_NO_CONTENT_LENGTH = declare(
    "mjpeg-no-content-length",
    "9.4.1.2.2",
    "MJPEG parts carry no Content-Length header",
    breaks="mjpeg-part-framing",
)
SNAPSHOT_MAIN_SIZE = declare(
    "snapshot-main-stream-size",
    "9.5.1",
    "the snapshot has the main stream's resolution instead of the MJPEG stream's",
    breaks="snapshot-mjpeg-size",
)
AUDIO_WRONG_FREQUENCY = declare(
    "audio-wrong-frequency",
    "9.8",
    "received audio is played 25 % fast (a 1000 Hz tone comes back at 1250 Hz)",
    breaks="audio-loopback",
)


class FaultSet(Protocol):
    def on(self, name: str) -> bool: ...


class _NoFaults:
    def on(self, name: str) -> bool:
        return False


NO_FAULTS: FaultSet = _NoFaults()


# --------------------------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OsdItem:
    """One OSD line (9.7.1.1); x, y in the 704x576 space. `text` is used for the name only."""

    enabled: bool = False
    x: int = 0
    y: int = 0
    text: str = ""


@dataclass(frozen=True)
class Mosaic:
    """Privacy masks (9.7.1.4): (x1, y1, x2, y2) inclusive corners in the 704x576 space."""

    enabled: bool = False
    regions: tuple[tuple[int, int, int, int], ...] = ()


FLIP_MODES = ("close", "leftright", "updown", "center")


@dataclass(frozen=True)
class VideoSettings:
    """Everything that shapes one stream's pictures. Hashable: pictures are cached per settings."""

    width: int = 1920
    height: int = 1080
    fps: float = 25.0
    bitrate_kbps: int = 2048
    gop: int | None = None  # key frame interval in frames; None = one IDR per second
    osd_time: OsdItem = OsdItem()
    osd_name: OsdItem = OsdItem()
    mosaic: Mosaic = Mosaic()
    flip: str = "close"  # 9.6.1.2 FlipMode; "notsupport" is treated as "close"
    brightness: int = 50  # 9.6.1.3, 0-100, 50 neutral
    contrast: int = 50
    saturation: int = 50

    @property
    def key_interval(self) -> int:
        return self.gop or max(1, round(self.fps))


# --------------------------------------------------------------------------------------------------------------
# Picture
# --------------------------------------------------------------------------------------------------------------

_BARS = np.array(  # 75 % bars, ITU-R BT.801 order
    [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0), (0, 0, 191)],
    dtype=np.float32,
)
_BOX_RGB = (255.0, 128.0, 0.0)
# Sensor noise (Rule 5): luma fields of independent uniform noise, +-NOISE_AMPLITUDE levels, cycled frame by
# frame. The encoder predicts from the previous picture only (ultrafast: one reference), so three fields never
# let it predict the noise, and the picture keeps three noisy copies of its base, not more.
NOISE_AMPLITUDE = 4
NOISE_FIELDS = 3


@functools.lru_cache(maxsize=4)
def _noise_fields(width: int, height: int) -> np.ndarray:
    """NOISE_FIELDS luma noise fields of one picture size (read-only; seeded, so every run shows the same)."""
    rng = np.random.default_rng(width * 100003 + height)
    fields = rng.integers(-NOISE_AMPLITUDE, NOISE_AMPLITUDE + 1, size=(NOISE_FIELDS, height, width), dtype=np.int8)
    fields.setflags(write=False)
    return fields


def _adjust(rgb: np.ndarray, brightness: int, contrast: int, saturation: int) -> np.ndarray:
    """Brightness shifts by +-128 at 0/100, contrast scales around mid grey x0..x2, saturation x0..x2."""
    out = rgb.astype(np.float32)
    luma = out @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    out = luma[..., None] + (out - luma[..., None]) * (saturation / 50.0)
    out = (out - 128.0) * (contrast / 50.0) + 128.0 + (brightness - 50) * 2.56
    return np.clip(out, 0, 255)


def _rgb_to_yuv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.601 limited range; chroma averaged over 2x2."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    y = 16 + 0.2568 * r + 0.5041 * g + 0.0979 * b
    u = 128 - 0.1482 * r - 0.2910 * g + 0.4392 * b
    v = 128 + 0.4392 * r - 0.3678 * g - 0.0714 * b
    h, w = y.shape

    def sub(c: np.ndarray) -> np.ndarray:
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    return (
        np.clip(np.rint(y), 0, 255).astype(np.uint8),
        np.clip(np.rint(sub(u)), 0, 255).astype(np.uint8),
        np.clip(np.rint(sub(v)), 0, 255).astype(np.uint8),
    )


@functools.lru_cache(maxsize=256)
def _text_patch(text: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(luma, mask) of white text with a black outline, both (h, w) with even h and w."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font: Any = ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        font = ImageFont.load_default()
    stroke = max(1, size // 10)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    w, h = right - left + 2, bottom - top + 2
    w, h = w + (w & 1), h + (h & 1)
    image = Image.new("LA", (w, h), (0, 0))
    ImageDraw.Draw(image).text(
        (1 - left, 1 - top), text, font=font, fill=(255, 255), stroke_width=stroke, stroke_fill=(0, 255)
    )
    arr = np.asarray(image)
    luma = (16 + arr[..., 0].astype(np.float32) * (219 / 255)).astype(np.uint8)
    return luma, arr[..., 1] > 64


def scale_rect(rect: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """A 704x576 inclusive rectangle as even-aligned pixel slices [x0, x1) x [y0, y1) of a WxH picture."""
    x1, y1, x2, y2 = rect
    x1, x2 = sorted((x1, x2))
    y1, y2 = sorted((y1, y2))
    px0 = math.floor(x1 * width / SPACE_W) & ~1
    py0 = math.floor(y1 * height / SPACE_H) & ~1
    px1 = min(width, math.ceil((x2 + 1) * width / SPACE_W) + 1) & ~1
    py1 = min(height, math.ceil((y2 + 1) * height / SPACE_H) + 1) & ~1
    return max(0, px0), max(0, py0), px1, py1


def scale_point(x: int, y: int, width: int, height: int) -> tuple[int, int]:
    return round(x * width / SPACE_W), round(y * height / SPACE_H)


class Picture:
    """Renders frames of the test picture as contiguous yuv420p buffers of shape (H*3/2, W).

    The static part (scene with colour settings, flip, name OSD) is computed once; per frame only the
    moving box, the frame counter, the clock, and the mosaic are drawn.
    """

    def __init__(
        self, settings: VideoSettings, width: int | None = None, height: int | None = None, faults: FaultSet = NO_FAULTS
    ) -> None:
        self.settings = s = settings
        self.width = w = (width or s.width) & ~1
        self.height = h = (height or s.height) & ~1
        brightness = 50 if faults.on(BRIGHTNESS_IGNORED) else s.brightness
        self.flip = "close" if faults.on(FLIP_IGNORED) else (s.flip if s.flip in FLIP_MODES else "close")
        self.mosaic = (
            [] if faults.on(MOSAIC_IGNORED) or not s.mosaic.enabled else [scale_rect(r, w, h) for r in s.mosaic.regions]
        )

        scene = np.empty((h, w, 3), dtype=np.float32)
        split = (h * 2 // 3) & ~1
        bar_index = np.minimum(np.arange(w) * len(_BARS) // w, len(_BARS) - 1)
        scene[:split] = _BARS[bar_index][None, :, :]
        scene[split:] = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
        scene = _adjust(scene, brightness, s.contrast, s.saturation)
        if self.flip in ("leftright", "center"):
            scene = scene[:, ::-1]
        if self.flip in ("updown", "center"):
            scene = scene[::-1]
        y, u, v = _rgb_to_yuv(scene)
        self.base = np.empty((h * 3 // 2, w), dtype=np.uint8)
        self._planes(self.base)[0][:] = y
        self._planes(self.base)[1][:] = u
        self._planes(self.base)[2][:] = v
        box = _rgb_to_yuv(
            np.broadcast_to(_adjust(np.array([[_BOX_RGB]]), brightness, s.contrast, s.saturation), (2, 2, 3))
        )
        self.box_yuv = tuple(int(p[0, 0]) for p in box)
        self.box = max(8, (h // 6) & ~1)
        self.box_y = max(0, (split // 2 - self.box // 2) & ~1)
        self.font = max(10, h // 24)
        self.name = self._place(s.osd_name, s.osd_name.text) if s.osd_name.enabled and s.osd_name.text else None
        if self.name is not None:  # static: bake it into the base picture
            self._overlay(self.base, *self.name)
            self.name = None
        # one noisy copy of the base per noise field (Rule 5): a frame then costs one copy, as without noise
        self.bases = []
        for noise in _noise_fields(w, h):
            noisy = self.base.copy()
            luma = self._planes(noisy)[0]
            luma[:] = np.clip(luma + noise.astype(np.int16), 0, 255)
            self.bases.append(noisy)

    def _planes(self, buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w, h = self.width, self.height
        q = h // 4
        return buf[:h], buf[h : h + q].reshape(h // 2, w // 2), buf[h + q :].reshape(h // 2, w // 2)

    def _place(self, item: OsdItem, text: str) -> tuple[np.ndarray, np.ndarray, int, int]:
        luma, mask = _text_patch(text, self.font)
        x, y = scale_point(item.x, item.y, self.width, self.height)
        ph, pw = luma.shape
        x = max(0, min(x, self.width - pw)) & ~1
        y = max(0, min(y, self.height - ph)) & ~1
        return luma[: self.height, : self.width], mask[: self.height, : self.width], x, y

    def _overlay(self, buf: np.ndarray, luma: np.ndarray, mask: np.ndarray, x: int, y: int) -> None:
        yp, up, vp = self._planes(buf)
        ph, pw = luma.shape
        region = yp[y : y + ph, x : x + pw]
        region[mask] = luma[mask]
        cmask = mask[::2, ::2]
        up[y // 2 : y // 2 + ph // 2, x // 2 : x // 2 + pw // 2][cmask] = 128
        vp[y // 2 : y // 2 + ph // 2, x // 2 : x // 2 + pw // 2][cmask] = 128

    def render(self, index: int, wallclock: float | None = None) -> np.ndarray:
        """Frame `index` as a new yuv420p buffer; the clock OSD shows `wallclock` (default: now)."""
        s, w, h = self.settings, self.width, self.height
        buf = self.bases[index % NOISE_FIELDS].copy()
        yp, up, vp = self._planes(buf)
        # moving box: crosses the picture in 4 s
        span = max(2, w - self.box)
        x = int(index * span / (4 * max(s.fps, 1))) % span & ~1
        y0 = self.box_y
        if self.flip in ("leftright", "center"):
            x = (w - self.box - x) & ~1
        if self.flip in ("updown", "center"):
            y0 = (h - self.box - y0) & ~1
        b, c = self.box, self.box // 2
        yp[y0 : y0 + b, x : x + b] = self.box_yuv[0]
        up[y0 // 2 : y0 // 2 + c, x // 2 : x // 2 + c] = self.box_yuv[1]
        vp[y0 // 2 : y0 // 2 + c, x // 2 : x // 2 + c] = self.box_yuv[2]
        counter = _text_patch(f"#{index:06d}", max(8, self.font // 2))
        self._overlay(buf, counter[0], counter[1], 2, (h - counter[0].shape[0] - 2) & ~1)
        for x0, y0_, x1, y1 in self.mosaic:
            yp[y0_:y1, x0:x1] = 16
            up[y0_ // 2 : y1 // 2, x0 // 2 : x1 // 2] = 128
            vp[y0_ // 2 : y1 // 2, x0 // 2 : x1 // 2] = 128
        if s.osd_time.enabled:
            stamp = time.strftime(
                "%Y-%m-%d %H:%M:%S", time.localtime(wallclock if wallclock is not None else time.time())
            )
            self._overlay(buf, *self._place(s.osd_time, stamp))
        return buf

    def render_image(self, index: int = 0, wallclock: float | None = None) -> Any:
        """Frame `index` as a Pillow RGB image."""
        import av

        return av.VideoFrame.from_ndarray(self.render(index, wallclock), format="yuv420p").to_image()


def encoded_size(settings: VideoSettings, faults: FaultSet = NO_FAULTS) -> tuple[int, int]:
    """The size the encoder actually uses for `settings`."""
    if faults.on(WRONG_RESOLUTION):
        return (settings.width * 3 // 4) & ~15, (settings.height * 3 // 4) & ~15  # macroblock-aligned
    return settings.width & ~1, settings.height & ~1


# --------------------------------------------------------------------------------------------------------------
# H.264 encoder
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessUnit:
    """One encoded picture: Annex-B NAL units without start codes, pts on the 90 kHz clock."""

    pts: int
    nals: tuple[bytes, ...]
    keyframe: bool  # contains an IDR slice (NAL type 5)
    captured: float = 0.0  # time.monotonic() when the picture was made

    @property
    def size(self) -> int:
        return sum(len(n) for n in self.nals)


FILLER_NAL = 12  # H.264 table 7-1: nal_unit_type 12, filler data (CBR padding, no picture)


def filler_share(units: list[AccessUnit]) -> float:
    """The share of the bytes of `units` that is filler data rather than picture."""
    total = sum(u.size for u in units)
    filler = sum(len(n) for u in units for n in u.nals if n[0] & 0x1F == FILLER_NAL)
    return filler / total if total else 0.0


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex-B byte stream (3- or 4-byte start codes), trailing zero bytes stripped."""
    out = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        start = i + 3
        j = data.find(b"\x00\x00\x01", start)
        end = len(data) if j < 0 else j
        nal = data[start:end].rstrip(b"\x00") if j >= 0 else data[start:end]
        if nal:
            out.append(nal)
        i = j
    return out


class H264Encoder:
    """libx264 through PyAV: constant bit rate with a 1 s VBV buffer, fixed GOP, forced IDR on request.

    In-band SPS/PPS precede every IDR (repeat-headers), so a client may join at any key frame.
    Measured on the test picture: bitrate within +-10 % of the target over 2 s (see tests).
    """

    def __init__(
        self,
        width: int,
        height: int,
        fps: float,
        bitrate_kbps: int,
        gop: int,
        *,
        preset: str = "ultrafast",
        threads: int = 1,
    ) -> None:
        import av

        self.width, self.height, self.fps, self.gop = width, height, fps, gop
        ctx: Any = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
        ctx.time_base = Fraction(1, 90000)
        ctx.framerate = Fraction(fps).limit_denominator(1001)
        ctx.bit_rate = bitrate_kbps * 1000
        ctx.gop_size = gop
        ctx.max_b_frames = 0
        ctx.thread_count = threads
        ctx.options = {
            "preset": preset,
            "tune": "zerolatency",
            "profile": "baseline",
            "forced-idr": "1",
            "maxrate": str(bitrate_kbps * 1000),
            "bufsize": str(bitrate_kbps * 1000),
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:nal-hrd=cbr:repeat-headers=1:aud=0",
        }
        ctx.open()
        self._ctx = ctx
        self._av = av
        self.sps: bytes | None = None
        self.pps: bytes | None = None

    def encode(self, yuv: np.ndarray, pts: int, force_idr: bool = False, captured: float = 0.0) -> list[AccessUnit]:
        """Encode one yuv420p picture (shape (H*3/2, W)); returns the access units ready (0 or 1)."""
        frame = self._av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = pts
        if force_idr:
            frame.pict_type = self._av.video.frame.PictureType.I
        return [self._unit(p, captured) for p in self._ctx.encode(frame)]

    def flush(self) -> list[AccessUnit]:
        return [self._unit(p, 0.0) for p in self._ctx.encode(None)]

    def _unit(self, packet: Any, captured: float) -> AccessUnit:
        nals = tuple(split_annexb(bytes(packet)))
        for nal in nals:
            kind = nal[0] & 0x1F
            if kind == 7:
                self.sps = nal
            elif kind == 8:
                self.pps = nal
        return AccessUnit(int(packet.pts or 0), nals, any(n[0] & 0x1F == 5 for n in nals), captured)


@dataclass(frozen=True)
class ParameterSets:
    sps: bytes
    pps: bytes

    @property
    def profile_level_id(self) -> str:
        """RFC 6184 8.1: profile_idc, constraint flags, level_idc of the SPS, as 6 hex digits."""
        return self.sps[1:4].hex().upper()

    @property
    def sprop(self) -> str:
        import base64

        return ",".join(base64.b64encode(n).decode() for n in (self.sps, self.pps))


@functools.lru_cache(maxsize=32)
def parameter_sets(width: int, height: int, fps: float, bitrate_kbps: int, gop: int) -> ParameterSets:
    """SPS/PPS the encoder emits for these parameters (x264 is deterministic), for the SDP."""
    enc = H264Encoder(width, height, fps, bitrate_kbps, gop)
    units = enc.encode(np.full((height * 3 // 2, width), 128, dtype=np.uint8), 0)
    units += enc.flush()
    if enc.sps is None or enc.pps is None:
        raise RuntimeError("libx264 produced no SPS/PPS")
    return ParameterSets(enc.sps, enc.pps)


# --------------------------------------------------------------------------------------------------------------
# Stream hub: one encoder per stream path, fanned out to the playing clients
# --------------------------------------------------------------------------------------------------------------


class Subscriber:
    """One playing client's view of a hub: a bounded queue of access units starting at a key frame."""

    def __init__(self, hub: StreamHub, maxsize: int) -> None:
        self.hub = hub
        self.queue: asyncio.Queue[AccessUnit | None] = asyncio.Queue(maxsize)
        self.synced = False  # waiting for a key frame until True
        self.dropped = 0
        self.closed = False

    def offer(self, unit: AccessUnit) -> None:
        if not self.synced:
            if not unit.keyframe:
                return
            self.synced = True
        try:
            self.queue.put_nowait(unit)
        except asyncio.QueueFull:
            self.dropped += 1
            self.synced = False  # resume at the next key frame

    async def get(self) -> AccessUnit | None:
        """The next access unit, or None once the hub stopped."""
        return await self.queue.get()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.hub.unsubscribe(self)


@dataclass(frozen=True)
class StreamDescription:
    settings: VideoSettings
    width: int  # encoded size
    height: int
    parameter_sets: ParameterSets


@dataclass
class _Run:
    generation: int
    settings: VideoSettings
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    error: BaseException | None = None


class StreamHub:
    """One stream (e.g. /live/0/main): encodes while at least one client plays, shares the encoder."""

    def __init__(
        self,
        name: str,
        settings: Callable[[], VideoSettings],
        *,
        faults: FaultSet | None = None,
        queue_frames: int = 50,
        preset: str = "ultrafast",
        threads: int = 1,
    ) -> None:
        self.name = name
        self.settings = settings
        self.faults = faults or NO_FAULTS
        self.queue_frames, self.preset, self.threads = queue_frames, preset, threads
        self._subs: list[Subscriber] = []
        self._run: _Run | None = None
        self._generation = 0
        self._idr = threading.Event()
        self._epoch = time.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.frames_encoded = 0

    # -- description (DESCRIBE) ----------------------------------------------------------------------------
    def describe(self) -> StreamDescription:
        """The current settings with the SPS/PPS the next session will carry (may encode one frame, ~50 ms)."""
        s = self.settings()
        w, h = encoded_size(s, self.faults)
        return StreamDescription(s, w, h, parameter_sets(w, h, self._fps(s), self._kbps(s), self._gop(s)))

    async def describe_async(self) -> StreamDescription:
        return await asyncio.get_running_loop().run_in_executor(None, self.describe)

    def _fps(self, s: VideoSettings) -> float:
        return s.fps / 2 if self.faults.on(HALF_FRAME_RATE) else s.fps

    def _kbps(self, s: VideoSettings) -> int:
        return max(16, s.bitrate_kbps // 2) if self.faults.on(BITRATE_HALVED) else s.bitrate_kbps

    def _gop(self, s: VideoSettings) -> int:
        return max(1, round(s.key_interval * self._fps(s) / s.fps))

    # -- clients -------------------------------------------------------------------------------------------
    @property
    def clients(self) -> int:
        return len(self._subs)

    @property
    def running(self) -> bool:
        return self._run is not None

    def subscribe(self) -> Subscriber:
        """Add a playing client (call on the event loop); starts or restarts the encoder as needed."""
        self._loop = asyncio.get_running_loop()
        sub = Subscriber(self, self.queue_frames)
        self._subs.append(sub)
        s = self.settings()
        if self._run is None or self._run.settings != s or self._run.error is not None:
            self._start(s)
        else:
            self._idr.set()  # let the newcomer start without waiting for the next GOP
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with contextlib.suppress(ValueError):
            self._subs.remove(sub)
        if not self._subs:
            self._stop()

    def force_idr(self) -> None:
        """9.2.2 RemoteForceFrame: the next encoded picture is an IDR."""
        if not self.faults.on(NO_IDR_ON_FORCE):
            self._idr.set()

    async def close(self) -> None:
        """Stop encoding and end every subscriber's stream."""
        for sub in list(self._subs):
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)
        self._subs.clear()
        run = self._run
        self._stop()
        if run and run.thread:
            await asyncio.get_running_loop().run_in_executor(None, run.thread.join, 5.0)

    # -- encoder thread ------------------------------------------------------------------------------------
    def _start(self, s: VideoSettings) -> None:
        self._stop()
        self._generation += 1
        run = _Run(self._generation, s)
        run.thread = threading.Thread(target=self._encode_loop, args=(run,), name=f"bview-enc{self.name}", daemon=True)
        self._run = run
        run.thread.start()

    def _stop(self) -> None:
        if self._run is not None:
            self._run.stop.set()
            self._run = None

    def _encode_loop(self, run: _Run) -> None:
        s = run.settings
        fps = self._fps(s)
        period = 1.0 / fps
        w, h = encoded_size(s, self.faults)
        try:
            picture = Picture(s, w, h, self.faults)
            encoder = H264Encoder(w, h, fps, self._kbps(s), self._gop(s), preset=self.preset, threads=self.threads)
            self._idr.clear()
            t0 = time.monotonic()
            first = math.ceil((t0 - self._epoch) * fps)  # pts continue across encoder restarts
            t0 = self._epoch + first * period
            i = 0
            while not run.stop.is_set():
                now = time.monotonic()
                due = t0 + i * period
                if due > now:
                    if run.stop.wait(due - now):
                        break
                elif now - due > 1.0:  # fell far behind (suspended machine): skip, keep pts on the clock
                    i = int((now - t0) / period)
                index = first + i
                captured = time.monotonic()
                yuv = picture.render(index, time.time())
                force = self._idr.is_set()
                if force:
                    self._idr.clear()
                units = encoder.encode(yuv, round(index * 90000 / fps), force, captured)
                self.frames_encoded += 1
                loop = self._loop
                if loop is not None and units and not run.stop.is_set():
                    for unit in units:
                        with contextlib.suppress(RuntimeError):  # loop closed
                            loop.call_soon_threadsafe(self._fanout, run.generation, unit)
                i += 1
        except BaseException as exc:  # noqa: BLE001  (reported to the next subscriber via a restart)
            run.error = exc
            loop = self._loop
            if loop is not None:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._failed, run.generation)

    def _fanout(self, generation: int, unit: AccessUnit) -> None:
        if self._run is None or generation != self._run.generation:
            return
        for sub in self._subs:
            sub.offer(unit)

    def _failed(self, generation: int) -> None:
        if self._run is not None and generation == self._run.generation:
            for sub in self._subs:
                with contextlib.suppress(asyncio.QueueFull):
                    sub.queue.put_nowait(None)


# --------------------------------------------------------------------------------------------------------------
# Snapshot and MJPEG (9.4.1.2.2, 9.5.1)
# --------------------------------------------------------------------------------------------------------------


def snapshot_settings(mjpeg: VideoSettings, main: VideoSettings, faults: FaultSet = NO_FAULTS) -> VideoSettings:
    """9.5.1: the snapshot has the MJPEG stream's resolution (a faulty camera uses the main stream's)."""
    if faults.on(SNAPSHOT_MAIN_SIZE):
        return replace(mjpeg, width=main.width, height=main.height)
    return mjpeg


def snapshot_jpeg(settings: VideoSettings, faults: FaultSet = NO_FAULTS, *, index: int = 0, quality: int = 80) -> bytes:
    """One JPEG of the test picture at `settings`' resolution (blocking: ~10 ms at 640x360)."""
    out = io.BytesIO()
    Picture(settings, faults=faults).render_image(index).save(out, format="JPEG", quality=quality)
    return out.getvalue()


MJPEG_BOUNDARY = "bviewmjpegboundary"


async def mjpeg_response(
    request: web.Request,
    settings: Callable[[], VideoSettings],
    max_frames: int | None = None,
    *,
    faults: FaultSet = NO_FAULTS,
    quality: int = 80,
) -> web.StreamResponse:
    """Serve multipart/x-mixed-replace JPEG parts at the configured fps until the client leaves.

    RFC 2046 5.1.1: the body opens with the dash-boundary line, each part has Content-Type and
    Content-Length, the close-delimiter ends a bounded stream (`max_frames`).
    """
    from aiohttp import web

    headers = {
        "Content-Type": f"multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}",
        "Cache-Control": "no-cache, no-store",
        "Pragma": "no-cache",
    }
    if request.method == "HEAD":  # the stream's headers, no stream (RFC 9110 9.3.2)
        return web.Response(headers=headers)
    s = settings()
    loop = asyncio.get_running_loop()
    picture = await loop.run_in_executor(None, Picture, s, None, None, faults)
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    dash = f"--{MJPEG_BOUNDARY}\r\n".encode()

    def frame(i: int) -> bytes:
        out = io.BytesIO()
        picture.render_image(i).save(out, format="JPEG", quality=quality)
        return out.getvalue()

    period = 1.0 / max(s.fps, 0.1)
    start = loop.time()
    i = 0
    try:
        while max_frames is None or i < max_frames:
            jpeg = await loop.run_in_executor(None, frame, i)
            head = b"Content-Type: image/jpeg\r\n"
            if not faults.on(MJPEG_NO_CONTENT_LENGTH):
                head += f"Content-Length: {len(jpeg)}\r\n".encode()
            if faults.on(MJPEG_NO_LEADING_BOUNDARY):
                part = head + b"\r\n" + jpeg + b"\r\n" + dash  # boundary after, never before, the part
            else:
                part = dash + head + b"\r\n" + jpeg + b"\r\n"
            await response.write(part)
            i += 1
            delay = start + i * period - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        await response.write(f"--{MJPEG_BOUNDARY}--\r\n".encode())
        await response.write_eof()
    except (ConnectionError, asyncio.CancelledError):
        pass  # client went away; aiohttp closes the transport
    return response


# --------------------------------------------------------------------------------------------------------------
# Two-way audio (9.8): G.711 mu-law at 8 kHz
# --------------------------------------------------------------------------------------------------------------


def tone_ulaw(freq_hz: float = 1000.0, seconds: float = 1.0, rate: int = 8000, amplitude: float = 0.5) -> bytes:
    """A sine tone as G.711 mu-law bytes."""
    t = np.arange(int(seconds * rate)) / rate
    return ulaw_encode(np.sin(2 * np.pi * freq_hz * t) * amplitude * 32767)


def captured_audio(sent: bytes | None, seconds: float = 1.0, faults: FaultSet = NO_FAULTS) -> bytes:
    """What /TwowayAudio/ReceiveData returns: the audio last sent to the speaker (a loopback), or a 1 kHz tone.

    A faulty camera plays at the wrong speed: 4 of every 5 samples are kept (1000 Hz -> 1250 Hz).
    """
    data = sent if sent else tone_ulaw(1000.0, seconds)
    if faults.on(AUDIO_WRONG_FREQUENCY):
        keep = np.ones(len(data), dtype=bool)
        keep[4::5] = False
        data = np.frombuffer(data, dtype=np.uint8)[keep].tobytes()
    return data
