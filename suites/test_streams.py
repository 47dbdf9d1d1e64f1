"""Stream configuration (chapter 8, 9.4) and the two-way audio state machine (9.8)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_bview.checks import check_status, expect, status_code, status_text
from pytest_bview.protocol.xmlblocks import to_xml
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.status import Status
from pytest_bview.spec.streams import MAIN, SUB

pytestmark = [pytest.mark.streams]

# (stream, change, the chapter 8 rule it breaks)
OUT_OF_RANGE = [
    (
        MAIN,
        {"ResolutionWidth": "800", "ResolutionHeigth": "600"},
        "main stream resolutions 1920x1080, 1024x768, 640x512",
    ),
    (MAIN, {"FrameRate": "2600"}, "main stream 1-25 fps (FrameRate x100)"),
    (MAIN, {"FrameRate": "0"}, "main stream 1-25 fps (FrameRate x100)"),
    (MAIN, {"Bitrate": "12289"}, "main stream 512-12288 kbps"),
    (SUB, {"ResolutionWidth": "1920", "ResolutionHeigth": "1080"}, "sub-stream resolutions 704x576, 640x360, 320x240"),
    (SUB, {"Bitrate": "127"}, "sub-stream 128-2048 kbps"),
]


def _path(stream_id: int) -> str:
    return f"/Streams/1/{stream_id}"


@pytest.mark.reversible
@pytest.mark.parametrize(
    "stream,change,rule", OUT_OF_RANGE, ids=[f"PUT /Streams/1/{s.stream_id} {r}" for s, _, r in OUT_OF_RANGE]
)
@pytest.mark.bview_rule("stream-table-enforced")
def test_out_of_range_rejected(bview: Any, stream: Any, change: dict[str, str], rule: str) -> None:
    """8: values outside the stream table get -5 and change nothing."""
    path = _path(stream.stream_id)
    before, _ = bview.read(path)
    ex = bview.client.put(path, to_xml(BLOCKS["StreamConfig"], {**before, **change}, include_wo=True))
    try:
        check_status(ex, Status.PARAMETER_ERROR, "8", f"{change} breaks '{rule}'")
        after, get = bview.read(path)
        expect(after == before, f"changed {path} to {after}", "a refused request changes nothing", "8", ex, get)
    finally:
        if bview.read(path)[0] != before:
            bview.write(path, before)


@pytest.mark.reversible
@pytest.mark.parametrize("stream", [MAIN, SUB], ids=["PUT /Streams/1/1", "PUT /Streams/1/2"])
@pytest.mark.bview_rule("stream-table-accepted")
def test_every_resolution_accepted(bview: Any, stream: Any) -> None:
    """8 / 9.4.1.1: every resolution of the stream table is accepted and read back."""
    path = _path(stream.stream_id)
    with bview.preserved(path) as before:
        for width, height in stream.resolutions:
            change = {"ResolutionWidth": str(width), "ResolutionHeigth": str(height)}
            ex = bview.client.put(path, to_xml(BLOCKS["StreamConfig"], {**before[path], **change}, include_wo=True))
            check_status(ex, Status.OK, "8", f"{width}x{height} is in the stream table")
            after, get = bview.read(path)
            got = (after.get("ResolutionWidth"), after.get("ResolutionHeigth") or after.get("ResolutionHeight"))
            expect(
                got == (str(width), str(height)),
                f"returned {got[0]}x{got[1]} after accepting {width}x{height}",
                "the accepted resolution is stored",
                "9.4.1.2",
                ex,
                get,
            )


@pytest.mark.readonly
@pytest.mark.bview_rule("capability-lists-stream-table")
def test_capability_lists_the_stream_table(bview: Any) -> None:
    """9.4.1.1: CapabilityV2 offers the chapter 8 main-stream resolutions and their sub-streams."""
    cap, ex = bview.read("/Streams/1/CapabilityV2")
    mains = cap.get("MainStreamCapabilityList", {}).get("MainStreamCapability", [])
    sizes = {(m.get("ResolutionWidth"), m.get("ResolutionHeight") or m.get("ResolutionHeigth")) for m in mains}
    wanted = {(str(w), str(h)) for w, h in MAIN.resolutions}
    expect(
        wanted <= sizes,
        f"offers main-stream sizes {sorted(sizes)}",
        f"the chapter 8 sizes {sorted(wanted)}",
        "9.4.1.1",
        ex,
    )


def _advertised(cap: dict[str, Any]) -> list[tuple[tuple[str, str], list[tuple[str, str, str]]]]:
    """[(main size, [(sub-stream ID, width, height), ...]), ...] as CapabilityV2 lists them."""
    out = []
    for m in cap.get("MainStreamCapabilityList", {}).get("MainStreamCapability", []):
        main = (m.get("ResolutionWidth"), m.get("ResolutionHeight") or m.get("ResolutionHeigth"))
        subs = (m.get("SubStreamCapabilityList") or {}).get("StreamCapability") or []
        sizes = [(s.get("ID"), s.get("ResolutionWidth"), s.get("ResolutionHeigth") or s.get("ResolutionHeight"))
                 for s in subs]  # fmt: skip
        out.append((main, [s for s in sizes if all(s)]))
    return [(main, subs) for main, subs in out if all(main)]


@pytest.mark.reversible
@pytest.mark.bview_rule("capability-resolutions-accepted")
def test_capability_resolutions_accepted(bview: Any) -> None:
    """9.4.1.2: "Resolution and frame rate ranges refer to the <StreamCapability>": every main-stream resolution
    GET /Streams/1/CapabilityV2 (9.4.1.1) advertises, and every sub-stream resolution it lists under it, is
    accepted by PUT /Streams/1/StreamID (both streams restored after)."""
    cap, cap_ex = bview.read("/Streams/1/CapabilityV2")
    advertised = _advertised(cap)
    expect(advertised, "advertises no main-stream resolution", "MainStreamCapability entries", "9.4.1.1", cap_ex)
    main_path = _path(MAIN.stream_id)
    sub_ids = sorted({sid for _, subs in advertised for sid, _, _ in subs})
    with bview.preserved(main_path, *[_path(int(s)) for s in sub_ids]) as before:
        for (width, height), subs in advertised:
            change = {"ResolutionWidth": width, "ResolutionHeigth": height}
            ex = bview.client.put(
                main_path, to_xml(BLOCKS["StreamConfig"], {**before[main_path], **change}, include_wo=True)
            )
            expect(
                status_code(ex) == Status.OK,
                f"refused the advertised main-stream resolution {width}x{height} ({status_text(ex)})",
                "every resolution CapabilityV2 offers is accepted by the stream configuration",
                "9.4.1.2",
                cap_ex,
                ex,
                rule="capability-resolutions-accepted",
            )
            for sid, sw, sh in subs:
                path = _path(int(sid))
                body = {**before[path], "ResolutionWidth": sw, "ResolutionHeigth": sh}
                ex = bview.client.put(path, to_xml(BLOCKS["StreamConfig"], body, include_wo=True))
                expect(
                    status_code(ex) == Status.OK,
                    f"refused sub-stream {sid} resolution {sw}x{sh}, advertised under main {width}x{height} "
                    f"({status_text(ex)})",
                    "every resolution CapabilityV2 offers is accepted by the stream configuration",
                    "9.4.1.2",
                    cap_ex,
                    ex,
                    rule="capability-resolutions-accepted",
                )


AUDIO = {"Content-Type": "audio/basic"}


@pytest.mark.reversible
@pytest.mark.audio
@pytest.mark.bview_rule("audio-send-needs-open")
def test_audio_needs_open(bview: Any) -> None:
    """9.8: SendData is refused while two-way audio is closed, accepted while open."""
    bview.client.put("/TwowayAudio/Close", b"")  # whatever state a previous run left
    closed = bview.client.put("/TwowayAudio/SendData", b"\xff" * 800, headers=AUDIO)
    check_status(closed, tuple(c for c in Status if c != Status.OK), "9.8.3", "audio is not open")
    opened = bview.client.put("/TwowayAudio/Open", b"<TwoWayAudio><VoiceMode>G711U</VoiceMode></TwoWayAudio>")
    check_status(opened, Status.OK, "9.8.1")
    try:
        sent = bview.client.put("/TwowayAudio/SendData", b"\xff" * 800, headers=AUDIO)
        check_status(sent, Status.OK, "9.8.3", "audio is open")
    finally:
        check_status(bview.client.put("/TwowayAudio/Close", b""), Status.OK, "9.8.2")
