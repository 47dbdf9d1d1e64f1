"""The simulator's media engine and the client-side media probes, tested against each other.

Thresholds (measured on the test picture, 2 cores):
- bitrate: CBR within +-10 % of the target over >= 2 s (measured: -1 % .. -4 %);
- fps over RTSP: within +-10 % of the configured rate (measured: 25.0 for 25);
- mosaic: the masked area (2 px margin) decodes with mean Y <= 24 and std dev <= 4 (measured ~16 / <1).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from fractions import Fraction

import numpy as np
import pytest

from pytest_bview import media as client
from pytest_bview.simulator import media
from pytest_bview.simulator.rtsp import RtspServer, rtp_packets

USER, PASSWORD = "admin", "s3cret:pw"
SMALL = media.VideoSettings(width=320, height=240, fps=25.0, bitrate_kbps=384)
BITRATE_TOLERANCE = 0.10
FPS_TOLERANCE = 0.10


class Faults:
    """A plain switch over fault names, `Faults("a", "b")` (simulator.faults.Faults takes one iterable)."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)

    def on(self, name: str) -> bool:
        return name in self.names


class LoopThread:
    """An asyncio loop in a thread, so the blocking client probes can run in the test's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30.0):  # noqa: ANN001, ANN201
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture(scope="module")
def rtsp(loop: LoopThread) -> Iterator[RtspServer]:
    hubs = {
        "/live/0/main": media.StreamHub("main", lambda: SMALL),
        "/live/0/sub": media.StreamHub("sub", lambda: SMALL),
    }
    server = RtspServer(
        "127.0.0.1",
        0,
        hubs,
        authenticate=lambda u, p: (u, p) == (USER, PASSWORD),
        password_of=lambda u: PASSWORD if u == USER else None,
        time_scale=0.05,
    )
    loop.run(server.start())
    yield server
    loop.run(server.stop())


def encode(settings: media.VideoSettings, frames: int, force_at: int | None = None, faults=None) -> list:  # noqa: ANN001
    picture = media.Picture(settings, faults=faults or Faults())
    enc = media.H264Encoder(settings.width, settings.height, settings.fps, settings.bitrate_kbps, settings.key_interval)
    units = []
    for i in range(frames):
        units += enc.encode(picture.render(i, 0.0), round(i * 90000 / settings.fps), force_idr=i == force_at)
    return units + enc.flush()


def decode(units: list) -> list:
    import av

    ctx = av.CodecContext.create("h264", "r")
    frames = []
    for unit in units:
        data = b"".join(b"\x00\x00\x00\x01" + n for n in unit.nals)
        frames += ctx.decode(av.Packet(data))
    return frames + ctx.decode(None)


# -- encoder -------------------------------------------------------------------------------------------------------


def test_encoder_output_decodes_to_configured_size() -> None:
    frames = decode(encode(SMALL, 5))
    assert len(frames) == 5
    assert {(f.width, f.height) for f in frames} == {(320, 240)}


def test_encoder_full_hd_size_and_bitrate() -> None:
    settings = media.VideoSettings(width=1920, height=1080, fps=25.0, bitrate_kbps=2048)
    units = encode(settings, 50)
    frames = decode(units[:3])
    assert (frames[0].width, frames[0].height) == (1920, 1080)
    kbps = sum(u.size for u in units) * 8 / 2.0 / 1000
    assert abs(kbps / 2048 - 1) <= BITRATE_TOLERANCE, f"{kbps:.0f} kbit/s for 2048 configured"


@pytest.mark.parametrize("target", [128, 512, 2048])
def test_encoder_bitrate_within_tolerance(target: int) -> None:
    settings = media.VideoSettings(width=640, height=360, fps=25.0, bitrate_kbps=target)
    units = encode(settings, 75)
    kbps = sum(u.size for u in units) * 8 / 3.0 / 1000
    assert abs(kbps / target - 1) <= BITRATE_TOLERANCE, f"{kbps:.0f} kbit/s for {target} configured"


def test_gop_is_one_second_by_default() -> None:
    units = encode(SMALL, 60)
    assert [i for i, u in enumerate(units) if u.keyframe] == [0, 25, 50]
    sps = [n for n in units[0].nals if n[0] & 0x1F == 7]
    assert sps, "in-band SPS before the IDR"


def test_force_idr_yields_an_idr_within_one_second() -> None:
    settings = media.VideoSettings(width=320, height=240, fps=25.0, bitrate_kbps=256, gop=250)
    keys = [i for i, u in enumerate(encode(settings, 40, force_at=10)) if u.keyframe]
    assert keys == [0, 10]


def test_hub_force_idr_and_fault() -> None:
    settings = media.VideoSettings(width=160, height=120, fps=25.0, bitrate_kbps=128, gop=250)

    async def run(faults: Faults) -> list[float]:
        hub = media.StreamHub("t", lambda: settings, faults=faults)
        sub = hub.subscribe()
        keys, start = [], None
        for n in range(25):
            unit = await asyncio.wait_for(sub.get(), 2)
            start = unit.pts if start is None else start
            if unit.keyframe:
                keys.append((unit.pts - start) / 90000)
            if n == 5:
                hub.force_idr()
        sub.close()
        await hub.close()
        assert not hub.running
        return keys

    keys = asyncio.run(run(Faults()))
    assert keys[0] == 0 and len(keys) == 2 and keys[1] <= 1.0, keys
    assert asyncio.run(run(Faults(media.NO_IDR_ON_FORCE))) == [0.0]


# -- picture -------------------------------------------------------------------------------------------------------


def luma(settings: media.VideoSettings, faults: Faults | None = None) -> np.ndarray:
    frames = decode(encode(settings, 3, faults=faults))
    return frames[-1].to_ndarray(format="gray").astype(np.float64)


def test_mosaic_region_decodes_uniformly_dark() -> None:
    region = (176, 72, 527, 431)  # centre of the 704x576 space: bars and the moving box beneath
    settings = media.VideoSettings(width=320, height=240, bitrate_kbps=384, mosaic=media.Mosaic(True, (region,)))
    x0, y0, x1, y1 = media.scale_rect(region, 320, 240)
    inner = luma(settings)[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2]
    assert inner.mean() <= 24 and inner.std() <= 4, (inner.mean(), inner.std())
    ignored = luma(settings, Faults(media.MOSAIC_IGNORED))[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2]
    assert ignored.mean() > 60


def flip_score(plain: np.ndarray, other: np.ndarray, mode: str) -> float:
    """Mean absolute difference between `other` and `plain` flipped as `mode` says (small = match)."""
    ref = plain
    if mode in ("leftright", "center"):
        ref = ref[:, ::-1]
    if mode in ("updown", "center"):
        ref = ref[::-1]
    return float(np.abs(other - ref).mean())


@pytest.mark.parametrize("mode", ["leftright", "updown", "center"])
def test_flip_mirrors_the_scene(mode: str) -> None:
    plain = luma(SMALL)
    flipped = luma(media.VideoSettings(**{**SMALL.__dict__, "flip": mode}))
    assert flip_score(plain, flipped, mode) < 0.25 * flip_score(plain, flipped, "close")
    ignored = luma(media.VideoSettings(**{**SMALL.__dict__, "flip": mode}), Faults(media.FLIP_IGNORED))
    assert flip_score(plain, ignored, "close") < 0.25 * flip_score(plain, ignored, mode)


def test_brightness_moves_mean_luma() -> None:
    dark = luma(media.VideoSettings(**{**SMALL.__dict__, "brightness": 0})).mean()
    bright = luma(media.VideoSettings(**{**SMALL.__dict__, "brightness": 100})).mean()
    assert bright - dark > 80, (dark, bright)
    faulty = Faults(media.BRIGHTNESS_IGNORED)
    dark_f = luma(media.VideoSettings(**{**SMALL.__dict__, "brightness": 0}), faulty).mean()
    assert abs(dark_f - luma(SMALL).mean()) < 5


def test_osd_text_is_drawn_where_configured() -> None:
    osd = media.OsdItem(True, 352, 288, "CAMERA")
    plain = media.Picture(SMALL).render(0)[:240]
    named = media.Picture(media.VideoSettings(**{**SMALL.__dict__, "osd_name": osd})).render(0)[:240]
    ys, xs = np.nonzero(plain != named)
    assert ys.size and xs.min() >= 158 and ys.min() >= 118  # 352x288 of 704x576 -> 160x120


def test_wrong_resolution_fault_changes_encoded_size() -> None:
    assert media.encoded_size(SMALL) == (320, 240)
    # three quarters, macroblock-aligned so the test picture renders at that size
    assert media.encoded_size(SMALL, Faults(media.WRONG_RESOLUTION)) == (240, 176)


# -- RTP -----------------------------------------------------------------------------------------------------------


def test_rtp_packetization_fu_a_and_marker() -> None:
    unit = media.AccessUnit(0, (b"\x67" + b"s" * 10, b"\x65" + bytes(3000)), True)
    packets = rtp_packets(unit, 65535, 1234, 0xABCD)
    assert [p[1] >> 7 for p in packets] == [0, 0, 0, 1]  # marker on the last packet only
    assert [int.from_bytes(p[2:4], "big") for p in packets] == [65535, 0, 1, 2]
    fu = [p[12:14] for p in packets[1:]]
    assert [f[0] & 0x1F for f in fu] == [28, 28, 28] and fu[0][1] == 0x85 and fu[-1][1] == 0x45
    assert b"".join(p[14:] for p in packets[1:]) == bytes(3000)
    assert max(len(p) for p in packets) <= 12 + 1400


# -- RTSP ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_probe_stream_resolution_and_fps(rtsp: RtspServer, transport: str) -> None:
    probe = client.probe_stream(rtsp.url("/live/0/main"), USER, PASSWORD, 2.0, transport, timeout=10)
    assert (probe.width, probe.height) == (320, 240)
    assert abs(probe.fps / 25 - 1) <= FPS_TOLERANCE, probe.fps
    assert abs(probe.bitrate_kbps / SMALL.bitrate_kbps - 1) <= 0.2, probe.bitrate_kbps
    assert probe.keyframes and probe.keyframes[0] == 0.0
    assert probe.y is not None and probe.y.shape == (240, 320)
    assert PASSWORD not in repr(probe)


def test_describe_without_credentials_is_challenged(rtsp: RtspServer) -> None:
    status, headers, _ = client.rtsp_describe(rtsp.url("/live/0/main"))
    assert status == 401
    schemes = {v.split()[0].lower() for v in headers.getall("WWW-Authenticate")}
    assert schemes == {"basic", "digest"}


@pytest.mark.parametrize("scheme", ["digest", "basic"])
def test_describe_with_credentials(rtsp: RtspServer, scheme: str) -> None:
    status, headers, body = client.rtsp_describe(rtsp.url("/live/0/sub"), USER, PASSWORD, auth=scheme)
    assert status == 200 and headers["Content-Type"] == "application/sdp"
    video = client.parse_sdp(body).first("video")
    assert video is not None and video.rtpmap("96") == "H264/90000"
    fmtp = video.fmtp("96")
    sps, pps = client.sprop_parameter_sets(fmtp["sprop-parameter-sets"])
    assert sps[0] & 0x1F == 7 and pps[0] & 0x1F == 8
    assert fmtp["profile-level-id"].lower() == sps[1:4].hex()
    assert headers["Content-Base"].endswith("/live/0/sub/")


def test_describe_wrong_password_and_unknown_path(rtsp: RtspServer) -> None:
    assert client.rtsp_describe(rtsp.url("/live/0/main"), USER, "nope")[0] == 401
    assert client.rtsp_describe(rtsp.url("/live/9/none"), USER, PASSWORD)[0] == 404


def test_require_header_is_refused(rtsp: RtspServer) -> None:
    status, headers, _ = client.rtsp_request(rtsp.url("/live/0/main"), "OPTIONS", headers={"Require": "funky-feature"})
    assert status == 551 and headers["Unsupported"] == "funky-feature"


def _raw(port: int, data: bytes) -> bytes:
    """Send `data`, return whatever comes back before the server closes (or 5 s pass)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        chunks = []
        try:
            sock.sendall(data)
            while chunk := sock.recv(4096):
                chunks.append(chunk)
        except OSError:  # reset after a 400 on an oversized request
            pass
        return b"".join(chunks)


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xff\xfe garbage\r\n\r\n",
        b"DESCRIBE rtsp://x/ RTSP/1.0\r\nCSeq: 1\r\nX: " + b"a" * 100_000 + b"\r\n\r\n",
        b"DESCRIBE rtsp://x/ RTSP/1.0\r\nCSeq: 1\r\n" + b"H: v\r\n" * 500 + b"\r\n",
        b"DESCRIBE rtsp://x/ RTSP/2.0\r\nCSeq: 1\r\n\r\n",
        b"PLAY rtsp://x/ RTSP/1.0\r\n\r\n",  # no CSeq
        b"$\x00\x00\x04abcdOPTIONS * RTSP/1.0\r\nCSeq: 7\r\nContent-Length: -1\r\n\r\n",
    ],
    ids=["binary", "huge-header", "many-headers", "version", "no-cseq", "bad-length"],
)
def test_garbage_does_not_kill_the_server(rtsp: RtspServer, garbage: bytes) -> None:
    answer = _raw(rtsp.port, garbage)
    assert answer == b"" or answer.startswith(b"RTSP/1.0 4") or answer.startswith(b"RTSP/1.0 5"), answer[:60]
    assert client.rtsp_request(rtsp.url("/live/0/main"), "OPTIONS")[0] == 200


def test_session_lifecycle_and_timeout(rtsp: RtspServer) -> None:
    url = rtsp.url("/live/0/main")
    setup = client.rtsp_request(
        url + "/trackID=0", "SETUP", USER, PASSWORD, headers={"Transport": "RTP/AVP;unicast;client_port=40000-40001"}
    )
    assert setup[0] == 200
    session, _, timeout = setup[1]["Session"].partition(";timeout=")
    assert int(timeout) == 3  # 60 s x time_scale 0.05
    assert "server_port=" in setup[1]["Transport"]
    assert client.rtsp_request(url, "GET_PARAMETER", USER, PASSWORD, headers={"Session": session})[0] == 200
    deadline = time.monotonic() + 10
    while session in rtsp.sessions and time.monotonic() < deadline:
        time.sleep(0.2)
    assert session not in rtsp.sessions, "session outlived its timeout"
    assert client.rtsp_request(url, "PLAY", USER, PASSWORD, headers={"Session": session})[0] == 454


# -- MJPEG and snapshot --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mjpeg_server(loop: LoopThread) -> Iterator[str]:
    from aiohttp import web

    settings = media.VideoSettings(width=320, height=240, fps=10.0)

    def route(faults: Faults):  # noqa: ANN202
        async def handler(request: web.Request) -> web.StreamResponse:
            return await media.mjpeg_response(request, lambda: settings, faults=faults)

        return handler

    async def start() -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_get("/ok", route(Faults()))
        app.router.add_get("/no-boundary", route(Faults(media.MJPEG_NO_LEADING_BOUNDARY)))
        app.router.add_get("/no-length", route(Faults(media.MJPEG_NO_CONTENT_LENGTH)))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    runner, port = loop.run(start())
    yield f"http://127.0.0.1:{port}"
    loop.run(runner.cleanup())


def test_mjpeg_gives_three_jpegs_of_the_right_size(mjpeg_server: str) -> None:
    capture = client.read_mjpeg(mjpeg_server + "/ok", frames=3, timeout=10)
    assert capture.violations == []
    assert len(capture.frames) == 3 and capture.sizes == [(320, 240)] * 3


@pytest.mark.parametrize(
    ("path", "finding"), [("/no-boundary", "precede the first boundary"), ("/no-length", "no Content-Length")]
)
def test_mjpeg_faults_are_reported(mjpeg_server: str, path: str, finding: str) -> None:
    capture = client.read_mjpeg(mjpeg_server + path, frames=3, timeout=10)
    assert any(finding in v for v in capture.violations), capture.violations
    assert len(capture.frames) == 3


def test_read_mjpeg_bounds_a_dripping_server() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def drip() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=b\r\n\r\n--b\r\n")
            for _ in range(30):
                time.sleep(0.1)
                try:
                    conn.sendall(b"X")
                except OSError:
                    return

    threading.Thread(target=drip, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(client.MediaError):
        client.read_mjpeg(f"http://127.0.0.1:{port}/", frames=1, timeout=1.0)
    assert time.monotonic() - start < 2.5
    server.close()


def test_snapshot_size_and_fault() -> None:
    mjpeg = media.VideoSettings(width=640, height=360)
    main = media.VideoSettings(width=1024, height=768)
    assert client.jpeg_dimensions(media.snapshot_jpeg(media.snapshot_settings(mjpeg, main))) == (640, 360)
    faulty = media.snapshot_settings(mjpeg, main, Faults(media.SNAPSHOT_MAIN_SIZE))
    assert (faulty.width, faulty.height) == (1024, 768)


# -- SDP and audio -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "o=- 1 1 IN IP4 0\r\nv=0\r\n", "v=0\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n", "v=0\r\nbogus\r\n"],
    ids=["empty", "v-not-first", "no-origin", "bad-line"],
)
def test_parse_sdp_rejects_malformed(text: str) -> None:
    with pytest.raises(client.SdpError):
        client.parse_sdp(text)


def test_ulaw_round_trip() -> None:
    codes = bytes(range(256))
    assert client.ulaw_encode(client.ulaw_decode(codes)) == codes.replace(b"\x7f", b"\xff")  # -0 encodes as +0
    x = np.linspace(-32000, 32000, 5001).astype(np.int16)
    error = np.abs(client.ulaw_decode(client.ulaw_encode(x)).astype(int) - x)
    assert (error <= np.abs(x.astype(int)) / 16 + 8).all()


def test_tone_frequency_and_audio_fault() -> None:
    tone = media.tone_ulaw(1000, 1.0)
    assert len(tone) == 8000
    assert abs(client.tone_frequency(client.ulaw_decode(tone), 8000) / 1000 - 1) <= 0.02
    wrong = media.captured_audio(tone, faults=Faults(media.AUDIO_WRONG_FREQUENCY))
    assert abs(client.tone_frequency(client.ulaw_decode(wrong), 8000) - 1250) <= 25


def test_fractional_frame_rate_encodes() -> None:
    enc = media.H264Encoder(160, 120, 12.5, 128, 12)
    assert enc._ctx.framerate == Fraction(25, 2)
