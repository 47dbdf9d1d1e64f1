"""Media conformance: RTSP streams (chapter 8, 9.4), forced I-frames (9.2.2), picture settings seen in the
decoded video (9.6.1.2 FlipMode, 9.6.1.3 Color, 9.7.1.4 Mosaic), MJPEG (9.4.1.2.2), snapshot (9.5.1) and
two-way audio (9.8).

DRAFT -- fixture assumptions (adapt here, nowhere else). Written against pytest_bview/target.py as of now:
    bview.rtsp_url(stream_id: int) -> str     rtsp://host:port/live/0/main for 1, .../sub for 2, no credentials
    bview.client.base_url -> str              http://host:port (MJPEG, snapshot and audio use media.http_request)
    bview.read(path) -> (doc dict, Exchange)  block documents as dicts of element name -> value
    bview.write(path, doc)                    PUT a document, checks statusCode 0
    bview.preserved(*paths)                   context manager restoring the documents afterwards
    bview.put(path, body=None)                raw PUT (RemoteForceFrame, TwowayAudio Open/Close)
    bview.user, bview.password, bview.timeout (seconds, float)
    bview.audio_loopback: bool (optional)     True when what the speaker plays comes back on ReceiveData
                                              (simulator; a lab rig with speaker and microphone facing)
    Mosaic document shape assumed: {"Enable": bool, "MosaicRegionList": {"Region": [{ID, TopLeftX, ...}]}}
Every check restores the configuration it changed.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from pytest_bview import media
from pytest_bview.checks import expect, fail

pytestmark = pytest.mark.media

STREAMS = [pytest.param(1, id="main"), pytest.param(2, id="sub")]
MJPEG_STREAM = 4
PROBE_SECONDS = 2.0
FPS_TOLERANCE = 0.10  # measured fps within +-10 % of FrameRate/100
BITRATE_TOLERANCE = 0.25  # CBR over 3 s within +-25 % of Bitrate (simulator: +-5 %)
FORCE_IDR_WINDOW = 0.5  # s between the RemoteForceFrame request and the IDR
MOSAIC_REGION = (176, 72, 527, 431)  # 704x576 space: the middle of the picture
SPACE = (704, 576)  # 9.7.1.1 / 9.7.1.4 coordinate space


# -- helpers ---------------------------------------------------------------------------------------------------


def _field(doc: dict[str, Any], *names: str) -> Any:
    """The first present field of `names` (the spec spells ResolutionHeigth both ways)."""
    for name in names:
        if doc.get(name) not in (None, ""):
            return doc[name]
    raise AssertionError(f"document has none of {names}: {str(doc)[:300]}")


def stream_config(bview: Any, stream_id: int) -> dict[str, Any]:
    doc = bview.read(f"/Streams/1/{stream_id}")[0]
    frame_rate = int(_field(doc, "FrameRate"))
    return {
        "width": int(_field(doc, "ResolutionWidth")),
        "height": int(_field(doc, "ResolutionHeigth", "ResolutionHeight")),
        "fps": 25.0 if frame_rate == 25500 else frame_rate / 100,  # 9.4.1.2: 25500 = full frame rate
        "bitrate": int(doc["Bitrate"]) if doc.get("Bitrate") not in (None, "") else None,
        "bitrate_type": str(doc.get("BitrateType") or "CBR"),
    }


@contextlib.contextmanager
def changed(bview: Any, path: str, edit: Callable[[dict[str, Any]], None]) -> Iterator[dict[str, Any]]:
    """PUT an edited copy of the document at `path`; the original is restored afterwards."""
    with bview.preserved(path) as before:
        doc = copy.deepcopy(before[path])
        edit(doc)
        bview.write(path, doc)
        yield doc


@contextlib.contextmanager
def frame_evidence(*probes: media.StreamProbe | None) -> Iterator[None]:
    """A failing picture check carries the last decoded frame it judged (embedded in report.html)."""
    try:
        yield
    except AssertionError as exc:
        frame = next((p.rgb for p in reversed(probes) if p is not None and p.rgb is not None), None)
        if frame is not None:
            import io

            from PIL import Image

            out = io.BytesIO()
            Image.fromarray(frame).save(out, format="JPEG", quality=70)
            exc.image = out.getvalue()  # type: ignore[attr-defined]
        raise


def _http_url(bview: Any, path: str) -> str:
    return bview.client.base_url + path


def tls(bview: Any) -> bool | str:
    """The certificate checks of the session's HTTP client (--bview-ca, --bview-insecure), for media.py."""
    return bview.client.session.verify


_EVIDENCE: list[Any] | None = None  # the running test's pytest-html extras (the frames it judged)


@pytest.fixture(autouse=True)
def _frames_as_evidence(extras: list[Any]) -> Iterator[None]:
    """Every decoded frame a check looks at goes to the report as evidence (shown for failed checks)."""
    global _EVIDENCE
    _EVIDENCE = extras
    yield
    _EVIDENCE = None


def _keep_frame(seen: media.StreamProbe) -> None:
    if _EVIDENCE is None or seen.rgb is None or len(_EVIDENCE) >= 4:
        return
    import base64
    import io

    from PIL import Image
    from pytest_html import extras as html_extras

    out = io.BytesIO()
    Image.fromarray(seen.rgb).save(out, format="JPEG", quality=60)
    _EVIDENCE.append(html_extras.jpg(base64.b64encode(out.getvalue()).decode(), name=seen.url))


def probe(
    bview: Any, stream_id: int = 1, seconds: float = PROBE_SECONDS, transport: str = "tcp", **kwargs: Any
) -> media.StreamProbe:
    seen = _probe(bview, stream_id, seconds, transport, **kwargs)
    _keep_frame(seen)
    return seen


def _probe(
    bview: Any, stream_id: int = 1, seconds: float = PROBE_SECONDS, transport: str = "tcp", **kwargs: Any
) -> media.StreamProbe:
    return media.probe_stream(
        bview.rtsp_url(stream_id),
        bview.user,
        bview.password,
        seconds,
        transport,
        timeout=bview.timeout + seconds,
        verify=bview.client.session.verify,  # an rtsps:// URL: the session's certificate checks
        **kwargs,
    )


def reproduce(bview: Any, stream_id: int) -> str:
    return f"Reproduce with: ffprobe -rtsp_transport tcp -show_streams 'rtsp://USER:PASS@{bview.rtsp_url(stream_id).split('://', 1)[1]}'"


def blocks(y: np.ndarray, n: int = 16) -> np.ndarray:
    """An n x n grid of block means: robust to noise, moving objects and OSD text."""
    h, w = (y.shape[0] // n) * n, (y.shape[1] // n) * n
    return y[:h, :w].astype(np.float64).reshape(n, h // n, n, w // n).mean(axis=(1, 3))


# -- 8: RTSP stream description ----------------------------------------------------------------------------------


@pytest.mark.readonly
@pytest.mark.parametrize("stream_id", STREAMS)
@pytest.mark.bview_rule("rtsp-describe-h264", "rtsp-sdp-sprop")
def test_sdp(bview: Any, stream_id: int) -> None:
    """Chapter 8 / RFC 6184 8.2.1: DESCRIBE returns an SDP with one H.264 video track, packetization-mode 0 or 1
    (absent means 0), and profile-level-id and sprop-parameter-sets (SPS, PPS) that match each other. RFC 6184 8.1
    says sprop-parameter-sets "MAY be used" (a stream may carry SPS and PPS in-band only): without it, an
    advisory (rule rtsp-sdp-sprop)."""
    url = bview.rtsp_url(stream_id)
    status, headers, body = media.rtsp_describe(url, bview.user, bview.password, bview.timeout)
    assert status == 200, f"DESCRIBE {url} answered {status}, expected 200. {reproduce(bview, stream_id)}"
    assert headers.get("Content-Type", "").startswith("application/sdp"), headers.get("Content-Type")
    sdp = media.parse_sdp(body)
    video = sdp.first("video")
    assert video is not None, f"SDP has no m=video line:\n{sdp.text}"
    h264 = [f for f in video.formats if (video.rtpmap(f) or "").upper().startswith("H264/90000")]
    assert h264, f"no a=rtpmap:<pt> H264/90000 in:\n{sdp.text}"
    fmtp = video.fmtp(h264[0])
    assert fmtp.get("packetization-mode", "0") in ("0", "1"), f"fmtp {fmtp}"
    expect(
        "sprop-parameter-sets" in fmtp,
        f"gives a=fmtp without sprop-parameter-sets:\n{sdp.text}",
        "SPS and PPS out of band in sprop-parameter-sets (RFC 6184 8.1: MAY)",
        "8",
        rule="rtsp-sdp-sprop",
    )
    nals = media.sprop_parameter_sets(fmtp["sprop-parameter-sets"])
    kinds = [n[0] & 0x1F for n in nals if n]
    assert 7 in kinds and 8 in kinds, f"sprop-parameter-sets holds NAL types {kinds}, expected SPS (7) and PPS (8)"
    sps = next(n for n in nals if n and n[0] & 0x1F == 7)
    if "profile-level-id" in fmtp:
        assert fmtp["profile-level-id"].lower() == sps[1:4].hex(), (
            f"profile-level-id {fmtp['profile-level-id']} but the SPS says {sps[1:4].hex()}"
        )


@pytest.mark.readonly
@pytest.mark.parametrize("stream_id", STREAMS)
@pytest.mark.bview_rule("rtsp-auth")
def test_describe_requires_auth(bview: Any, stream_id: int) -> None:
    """Chapter 8 with 5 (authentication): DESCRIBE without credentials is refused with 401 and a challenge."""
    url = bview.rtsp_url(stream_id)
    status, headers, _ = media.rtsp_describe(url, None, None, bview.timeout)
    assert status == 401, f"DESCRIBE {url} without credentials answered {status}, expected 401"
    assert headers.getall("WWW-Authenticate", []), "401 without WWW-Authenticate (RFC 2326 12.44)"


# -- 8, 9.4.1.2: what the decoder sees --------------------------------------------------------------------------


@pytest.mark.readonly
@pytest.mark.parametrize("stream_id", STREAMS)
@pytest.mark.bview_rule("stream-resolution")
def test_resolution(bview: Any, stream_id: int) -> None:
    """9.4.1.2: the decoded picture has the configured ResolutionWidth x ResolutionHeigth."""
    config = stream_config(bview, stream_id)
    seen = probe(bview, stream_id, 1.0)
    with frame_evidence(seen):
        assert seen.sizes == {(config["width"], config["height"])}, (
            f"stream {stream_id} decodes as {sorted(seen.sizes)}, configured {config['width']}x{config['height']}. "
            f"{reproduce(bview, stream_id)}"
        )


@pytest.mark.readonly
@pytest.mark.parametrize("stream_id", STREAMS)
@pytest.mark.bview_rule("stream-frame-rate")
def test_frame_rate(bview: Any, stream_id: int) -> None:
    """9.4.1.2: the measured frame rate (from timestamps) is FrameRate/100 within 10 %."""
    config = stream_config(bview, stream_id)
    seen = probe(bview, stream_id, 3.0)
    assert abs(seen.fps / config["fps"] - 1) <= FPS_TOLERANCE, (
        f"stream {stream_id}: {seen.fps:.2f} fps measured over {seen.frames} frames, {config['fps']:g} configured"
    )


@pytest.mark.readonly
@pytest.mark.parametrize("stream_id", STREAMS)
@pytest.mark.bview_rule("stream-bitrate-cbr")
def test_bitrate(bview: Any, stream_id: int) -> None:
    """9.4.1.2: with BitrateType CBR (always for sub-streams) the stream's bit rate is Bitrate within 25 %."""
    config = stream_config(bview, stream_id)
    if config["bitrate"] is None or (stream_id == 1 and config["bitrate_type"] != "CBR"):
        pytest.skip("not a constant bit rate stream")
    seen = probe(bview, stream_id, 3.0)
    assert abs(seen.bitrate_kbps / config["bitrate"] - 1) <= BITRATE_TOLERANCE, (
        f"stream {stream_id}: {seen.bitrate_kbps:.0f} kbit/s measured, Bitrate {config['bitrate']} configured"
    )


@pytest.mark.readonly
@pytest.mark.bview_rule("rtsp-udp")
def test_udp_transport(bview: Any) -> None:
    """Chapter 8 / RFC 2326 12.39: the main stream plays over RTP/UDP as well as interleaved TCP. The spec leaves the
    transport to RTSP, where UDP is RTP/AVP's default and TCP another: a camera serving TCP only gets an advisory
    (rule rtsp-udp)."""
    requires = "the main stream over RTP/UDP, RTP/AVP's default lower transport (RFC 2326 12.39)"
    try:
        seen = probe(bview, 1, 1.0, "udp")
    except media.MediaError as exc:
        how = reproduce(bview, 1).replace("-rtsp_transport tcp", "-rtsp_transport udp")
        fail(f"does not play over UDP: {exc}. {how}", requires, "8", rule="rtsp-udp")
    expect(seen.frames >= 5, f"delivers only {seen.frames} frames over UDP", requires, "8", rule="rtsp-udp")


@pytest.mark.bview_rule("force-iframe")
def test_force_idr(bview: Any) -> None:
    """9.2.2 RemoteForceFrame: an IDR frame follows the request within 0.5 s, before the scheduled one."""
    state: dict[str, float] = {}

    def on_frame(index: int, pts: float) -> None:
        if "sent" not in state and pts >= 0.25:  # mid-GOP: the stream starts with a key frame at 0
            bview.put("/System/1/RemoteForceFrame")
            state["sent"] = pts

    seen = probe(bview, 1, 3.0, on_frame=on_frame)
    assert "sent" in state, "the stream ended before RemoteForceFrame could be sent"
    sent, keys = state["sent"], seen.keyframes

    def in_window(t: float) -> bool:
        return sent < t <= sent + FORCE_IDR_WINDOW

    scheduled = [b - a for a, b in itertools.pairwise(keys) if not in_window(b)]
    if scheduled and min(scheduled) <= FORCE_IDR_WINDOW + 0.25:
        pytest.skip(f"key frame interval {min(scheduled):.2f} s too short to tell a forced IDR from a scheduled one")
    assert any(in_window(k) for k in keys), (
        f"PUT /System/1/RemoteForceFrame at stream time {sent:.2f} s; key frames at "
        f"{[round(k, 2) for k in keys]} s -- none within {FORCE_IDR_WINDOW} s"
    )


# -- 9.6 / 9.7: picture settings visible in the decoded video ----------------------------------------------------


@pytest.mark.bview_rule("mosaic-masks-picture")
def test_mosaic(bview: Any) -> None:
    """9.7.1.4: an enabled privacy mask hides its region: uniform there, different from the unmasked picture."""
    plain = probe(bview, 1, 0.5).y
    assert plain is not None

    def edit(doc: dict[str, Any]) -> None:
        keys = ("ID", "TopLeftX", "TopLeftY", "BottomRightX", "BottomRightY")
        doc["Enable"] = True
        doc["MosaicRegionList"] = {"Region": [dict(zip(keys, (1, *MOSAIC_REGION), strict=True))]}

    with changed(bview, "/Pictures/1/Mosaic", edit):
        masked = probe(bview, 1, 0.5).y
    assert masked is not None
    h, w = masked.shape
    x0, y0 = (MOSAIC_REGION[0] * w // SPACE[0] + 4, MOSAIC_REGION[1] * h // SPACE[1] + 4)
    x1, y1 = (MOSAIC_REGION[2] * w // SPACE[0] - 4, MOSAIC_REGION[3] * h // SPACE[1] - 4)
    inside = masked[y0:y1, x0:x1].astype(np.float64)
    before = plain[y0:y1, x0:x1].astype(np.float64)
    assert inside.std() <= 8, f"masked region {x0},{y0}-{x1},{y1} is not uniform: std dev {inside.std():.1f} > 8"
    assert abs(inside.mean() - before.mean()) > 10 or before.std() > 2 * inside.std() + 8, (
        "the masked region looks like the unmasked picture"
    )


def _flip(doc: dict[str, Any], mode: str) -> None:
    doc["FlipMode"] = mode


@pytest.mark.parametrize("mode", ["leftright", "updown"])
@pytest.mark.bview_rule("flip-mode-picture")
def test_flip(bview: Any, mode: str) -> None:
    """9.6.1.2 FlipMode: the decoded picture is the unflipped one mirrored (block means compared)."""
    with changed(bview, "/Images/1/Basic", lambda d: _flip(d, "close")):
        plain = probe(bview, 1, 0.5).y
    with changed(bview, "/Images/1/Basic", lambda d: _flip(d, mode)):
        flipped = probe(bview, 1, 0.5).y
    assert plain is not None and flipped is not None
    a, b = blocks(plain), blocks(flipped)
    mirrored = a[:, ::-1] if mode == "leftright" else a[::-1]
    as_flipped, as_plain = np.abs(b - mirrored).mean(), np.abs(b - a).mean()
    if as_plain < 2 and np.abs(a - mirrored).mean() < 2:
        pytest.skip("the scene is symmetric: a flip cannot be seen")
    assert as_flipped < 0.5 * as_plain, (
        f"FlipMode={mode}: picture differs from the mirrored original by {as_flipped:.1f} and from the "
        f"original by {as_plain:.1f} (mean luma per block); it was not flipped"
    )


@pytest.mark.bview_rule("brightness-picture")
def test_brightness(bview: Any) -> None:
    """9.6.1.3: in manual mode Brightness 0 vs 100 moves the mean luma of the decoded picture."""
    means = {}
    for value in (0, 100):

        def edit(doc: dict[str, Any], value: int = value) -> None:
            if doc.get("Mode") == "auto":
                doc["Mode"] = "manual"  # 9.6.1.3: Brightness only takes effect in manual mode
            doc["Brightness"] = value

        with changed(bview, "/Images/1/Color", edit):
            y = probe(bview, 1, 0.5).y
        assert y is not None
        means[value] = float(y.mean())
    assert means[100] - means[0] > 30, f"mean luma {means[0]:.0f} at Brightness 0, {means[100]:.0f} at 100"


# -- 9.4.1.2.2 MJPEG, 9.5.1 snapshot ----------------------------------------------------------------------------


# What RFC 2046 5.1.1 allows and media.read_mjpeg still reports: a preamble, a part without Content-Length.
_FRAMING = ("precede the first boundary line", ": no Content-Length header")


def _framing(violation: str) -> bool:
    return any(words in violation for words in _FRAMING)


@pytest.mark.readonly
@pytest.mark.bview_rule("mjpeg-stream", "mjpeg-part-framing")
def test_mjpeg_multipart(bview: Any) -> None:
    """9.4.1.2.2: /Streams/1/4/ReceiveData is multipart/x-mixed-replace (RFC 2046 5.1) of complete JPEGs
    at the 4th stream's resolution, each part with Content-Type. A preamble before the first boundary, or parts
    without Content-Length, RFC 2046 allows: an advisory (rule mjpeg-part-framing)."""
    config = stream_config(bview, MJPEG_STREAM)
    url = _http_url(bview, "/Streams/1/4/ReceiveData")
    capture = media.read_mjpeg(url, bview.user, bview.password, frames=3, timeout=bview.timeout + 5, verify=tls(bview))
    how = f"\nReproduce with: curl -u USER:PASS {url}"
    framing = [v for v in capture.violations if _framing(v)]
    broken = [v for v in capture.violations if v not in framing]
    assert broken == [], "\n".join(broken) + how
    assert capture.sizes == [(config["width"], config["height"])] * 3, capture.sizes
    expect(
        not framing,
        "frames its parts so: " + "; ".join(framing) + how,
        "each part opened by a boundary and sized by Content-Length (RFC 2046 5.1.1 allows either to lack)",
        "9.4.1.2.2",
        rule="mjpeg-part-framing",
    )


@pytest.mark.readonly
@pytest.mark.bview_rule("snapshot-mjpeg-size")
def test_snapshot_size(bview: Any) -> None:
    """9.5.1: RemoteImageCapture returns one JPEG at the 4th (Motion JPEG) stream's resolution."""
    config = stream_config(bview, MJPEG_STREAM)
    url = _http_url(bview, "/Snapshot/1/RemoteImageCapture")
    status, headers, body = media.http_request("GET", url, bview.user, bview.password, bview.timeout, verify=tls(bview))
    assert status == 200, f"GET {url}: {status}"
    assert headers.get("Content-Type", "").startswith("image/jpeg"), headers.get("Content-Type")
    problem = media.check_jpeg(body)
    assert problem is None, problem
    size = media.jpeg_dimensions(body)
    assert size == (config["width"], config["height"]), (
        f"snapshot is {size[0]}x{size[1]}, the MJPEG stream is configured {config['width']}x{config['height']}"
    )


# -- 9.8 two-way audio --------------------------------------------------------------------------------------------


@pytest.mark.audio
@pytest.mark.bview_rule("audio-loopback")
def test_twoway_audio_loopback(bview: Any) -> None:
    """9.8: G.711 mu-law sent with SendData comes back on ReceiveData at the same pitch (loopback rig)."""
    if not getattr(bview, "audio_loopback", False):
        pytest.skip("needs a speaker-to-microphone loopback (bview.audio_loopback)")
    bview.put("/TwowayAudio/Open", "<TwoWayAudio><VoiceMode>G711U</VoiceMode></TwoWayAudio>")
    try:
        rate = 8000
        samples = np.sin(2 * np.pi * 1000 * np.arange(rate) / rate) * 16000
        status, _, _ = media.http_request(
            "PUT",
            _http_url(bview, "/TwowayAudio/SendData"),
            bview.user,
            bview.password,
            bview.timeout,
            body=media.ulaw_encode(samples),
            headers={"Content-Type": "audio/basic"},
            verify=tls(bview),
        )
        assert status == 200, f"SendData: {status}"
        status, headers, body = media.http_request(
            "GET",
            _http_url(bview, "/TwowayAudio/ReceiveData"),
            bview.user,
            bview.password,
            bview.timeout,
            max_bytes=rate * 10,
            verify=tls(bview),
        )
        assert status == 200 and headers.get("Content-Type", "").startswith("audio/basic"), (status, headers)
        freq = media.tone_frequency(media.ulaw_decode(body), rate)
        assert abs(freq / 1000 - 1) <= 0.02, f"sent a 1000 Hz tone, received {freq:.0f} Hz"
    finally:
        bview.put("/TwowayAudio/Close")


# -- 9.4.1.2.1: where the stream is --------------------------------------------------------------------------------


@pytest.mark.readonly
@pytest.mark.parametrize("stream_id", STREAMS)
@pytest.mark.bview_rule("rtspuri-address", "rtsp-url-paths")
def test_transport_uri(bview: Any, stream_id: int) -> None:
    """9.4.1.2.1 + 8: RTSPURI is rtsp://<the host the client used>:<RTSP port>/live/0/main|sub, and it answers."""
    from urllib.parse import urlsplit

    from pytest_bview.checks import expect
    from pytest_bview.spec.facts import RTSP_PATHS

    doc, ex = bview.read(f"/Streams/1/{stream_id}/Transport")
    uri = str(doc.get("RTSPURI", ""))
    parts = urlsplit(uri)
    path = RTSP_PATHS[stream_id]
    expect(
        parts.scheme == "rtsp" and parts.hostname == bview.host,
        f"gives RTSPURI {uri!r} to a client that reached it as {bview.host}",
        "the address the client used (never an internal or loopback address of the device)",
        "9.4.1.2.1",
        ex,
        rule="rtspuri-address",
    )
    expect(
        (parts.port or 554) == bview.rtsp_port,
        f"gives RTSPURI port {parts.port or 554}",
        f"the RTSP port the device serves ({bview.rtsp_port})",
        "9.4.1.2.1",
        ex,
        rule="rtspuri-address",
    )
    expect(
        parts.path == path,
        f"gives RTSPURI path {parts.path!r}",
        f"the chapter 8 path {path}",
        "8",
        ex,
        rule="rtsp-url-paths",
    )
    status, _headers, _body = media.rtsp_describe(uri, bview.user, bview.password, bview.timeout, verify=tls(bview))
    expect(
        status == 200,
        f"answers DESCRIBE of its own RTSPURI with {status}",
        "the RTSPURI plays",
        "8",
        ex,
        rule="rtspuri-address",
    )


@pytest.mark.reversible
@pytest.mark.bview_rule("stream-config-applies")
def test_new_configuration_in_next_session(bview: Any) -> None:
    """9.4.1.2: a new resolution shows in the next RTSP session of the stream."""
    config = stream_config(bview, 2)
    target = (320, 240) if (config["width"], config["height"]) != (320, 240) else (704, 576)

    def edit(doc: dict[str, Any]) -> None:
        doc["ResolutionWidth"], doc["ResolutionHeigth"] = str(target[0]), str(target[1])
        doc.pop("ResolutionHeight", None)

    with changed(bview, "/Streams/1/2", edit):
        seen = probe(bview, 2, 1.0)
    assert seen.sizes == {target}, (
        f"after PUT /Streams/1/2 {target[0]}x{target[1]} the next session decodes as {sorted(seen.sizes)}. "
        f"{reproduce(bview, 2)}"
    )


@pytest.mark.reversible
@pytest.mark.bview_rule("device-status-bitrates")
def test_device_status_bitrates(bview: Any) -> None:
    """9.2.5.1: DeviceStatus reports the bit rates the streams are configured with (checked after a change)."""

    current = stream_config(bview, 1)["bitrate"] or 2048
    new_rate = 3072 if current != 3072 else 4096

    def edit(doc: dict[str, Any]) -> None:
        doc["Bitrate"] = str(new_rate)

    with changed(bview, "/Streams/1/1", edit):
        status, ex = bview.read("/System/DeviceStatus/1")
        for field, stream_id in (("MainStreamVideoBitrate", 1), ("FirstSubStreamVideoBitrate", 2)):
            configured = stream_config(bview, stream_id)["bitrate"]
            expect(
                str(status.get(field)) == str(configured),
                f"reports {field} {status.get(field)}",
                f"the configured Bitrate of stream {stream_id} ({configured} kbps)",
                "9.2.5.1",
                ex,
            )


OSD_SPOT = (240, 260)  # 704x576 space: the middle left, away from the default OSD corners


@pytest.mark.reversible
@pytest.mark.bview_rule("osd-name-drawn")
def test_osd_name(bview: Any) -> None:
    """9.7.1.1: enabling DisplayName draws the name at PosX/PosY: that region of the picture changes."""

    def place(enabled: bool) -> Callable[[dict[str, Any]], None]:
        def edit(doc: dict[str, Any]) -> None:
            name = doc.setdefault("DisplayName", {})
            name.update(
                Enable="true" if enabled else "false",
                PosX=str(OSD_SPOT[0]),
                PosY=str(OSD_SPOT[1]),
                Name="BVIEW OSD CHECK",
            )
            doc.setdefault("DisplayTime", {})["Enable"] = "false"

        return edit

    with changed(bview, "/Pictures/1/OSD", place(False)):
        without = probe(bview, 1, 0.5).y
        again = probe(bview, 1, 0.5).y  # how much the scene itself moves there
    with changed(bview, "/Pictures/1/OSD", place(True)):
        with_name = probe(bview, 1, 0.5).y
    assert without is not None and again is not None and with_name is not None
    h, w = with_name.shape
    x0, y0 = OSD_SPOT[0] * w // SPACE[0], OSD_SPOT[1] * h // SPACE[1]
    x1, y1 = min(w, x0 + w // 5), min(h, y0 + h // 12)

    def spot(y: np.ndarray) -> np.ndarray:
        return y[y0:y1, x0:x1].astype(np.float64)

    noise = np.abs(spot(again) - spot(without)).mean()
    diff = np.abs(spot(with_name) - spot(without)).mean()
    assert diff > noise + 4, (
        f"the picture at the DisplayName position ({x0},{y0})-({x1},{y1}) changes by {diff:.1f} with the name on, "
        f"as much as the scene itself moves ({noise:.1f}): the OSD name is not drawn. {reproduce(bview, 1)}"
    )
