"""Chapter 8: the streams and their valid parameters.

Stream          Resolutions   Framerate [fps]  Bitrate [Kbps]
mainstream      1920x1080*    1-25 (25)        512-12288 (2048)
                1024x768
                640x512
1st substream   704x576       1-25 (25)        128-2048 (512)
                640x360*
                320x240
"Default value are indicated by * or in brackets."
RTSP: rtsp://ip:port/live/0/main and rtsp://ip:port/live/0/sub
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamSpec:
    stream_id: int
    name: str
    resolutions: tuple[tuple[int, int], ...]
    default_resolution: tuple[int, int]
    fps: tuple[int, int]
    default_fps: int
    bitrate_kbps: tuple[int, int] | None
    default_bitrate_kbps: int | None
    rtsp_path: str | None

    @property
    def default_frame_rate_field(self) -> int:
        """StreamConfig FrameRate is the rate x 100 (9.4.1.2)."""
        return self.default_fps * 100


MAIN = StreamSpec(
    1, "main", ((1920, 1080), (1024, 768), (640, 512)), (1920, 1080), (1, 25), 25, (512, 12288), 2048, "/live/0/main"
)
SUB = StreamSpec(
    2, "sub", ((704, 576), (640, 360), (320, 240)), (640, 360), (1, 25), 25, (128, 2048), 512, "/live/0/sub"
)
# The Motion JPEG stream (9.4.1.2.2, 9.5.1): chapter 8 gives it no row of its own; it "shares the picture
# settings with the second substream". We give it the first substream's resolutions (ERRATA.md).
MJPEG = StreamSpec(4, "mjpeg", ((704, 576), (640, 360), (320, 240)), (640, 360), (1, 25), 25, None, None, None)

STREAMS: dict[int, StreamSpec] = {s.stream_id: s for s in (MAIN, SUB, MJPEG)}
RTSP_STREAMS: tuple[StreamSpec, ...] = (MAIN, SUB)
FULL_FRAME_RATE = 25500  # "if the value is 25500, which indicates that the frame rate is a full frame rate"
