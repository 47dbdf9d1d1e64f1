"""Protocol conformance: authentication, connections, content types, error codes (spec 4.5, 7)."""

from __future__ import annotations

import base64
import http.client
import socket
import time

import pytest

from pytest_bview import checks
from pytest_bview.cases import Case, cases
from pytest_bview.checks import check_status, expect, status_code
from pytest_bview.client import Exchange
from pytest_bview.spec.status import Status

pytestmark = [pytest.mark.protocol]

XML_GETS = ["/System/DeviceInfo", "/Images/1/Color", "/Network/Interfaces/1/IPAddress"]


@pytest.mark.parametrize("case", cases())
@pytest.mark.bview_rule("http-basic-auth")
def test_auth_required(bview, case: Case) -> None:
    """4.5.2: a request without credentials gets 401 with a WWW-Authenticate Basic challenge.

    Writes go out with an empty body, so a device that wrongly skips authentication still has
    nothing to apply; disruptive resources are probed only in the disruptive tier.
    """
    ex = bview.client.request(case.op.method, case.url, b"", auth=None, pace=False)
    challenge = ex.headers.get("WWW-Authenticate", "")
    expect(
        ex.status == 401,
        f"answered HTTP {ex.status} {checks.status_text(ex)} without credentials",
        "401 Unauthorized for a request without credentials",
        "4.5.2",
        ex,
    )
    expect(
        challenge.lower().startswith("basic"),
        f"sent WWW-Authenticate {challenge!r}",
        "a WWW-Authenticate header offering Basic authentication (RFC 2617)",
        "4.5.2",
        ex,
    )


@pytest.mark.readonly
@pytest.mark.bview_rule("http-auth-wrong-password")
def test_wrong_password_refused(bview) -> None:
    """4.5.2: a known user with a wrong password is refused with 401."""
    ex = bview.client.get("/System/DeviceInfo", auth=(bview.settings.user, bview.settings.password + "-wrong"))
    expect(
        ex.status == 401,
        f"answered HTTP {ex.status} to a wrong password",
        "401 Unauthorized for wrong credentials",
        "4.5.2",
        ex,
    )


def _basic(bview) -> str:
    token = base64.b64encode(f"{bview.settings.user}:{bview.settings.password}".encode()).decode()
    return f"Basic {token}"


def _connection(bview) -> http.client.HTTPConnection:
    if bview.settings.scheme == "https":
        return http.client.HTTPSConnection(
            bview.host, bview.port, timeout=bview.settings.timeout, context=bview.ssl_context()
        )
    return http.client.HTTPConnection(bview.host, bview.port, timeout=bview.settings.timeout)


@pytest.mark.readonly
@pytest.mark.bview_rule("http-persistent")
def test_persistent_connection(bview) -> None:
    """4.5.1: devices "should support persistent connections": 20 requests are served on one HTTP/1.1 connection
    (a SHOULD: a device that closes it is an advisory, not a failure)."""
    conn = _connection(bview)
    try:
        conn.connect()
        first_socket = conn.sock
        for n in range(1, 21):
            conn.request(
                "GET", "/System/DeviceInfo", headers={"Authorization": _basic(bview), "Connection": "Keep-Alive"}
            )
            resp = conn.getresponse()
            resp.read()
            ex = Exchange(
                "GET",
                f"{bview.client.base_url}/System/DeviceInfo",
                {"Connection": "Keep-Alive"},
                b"",
                status=resp.status,
                headers=dict(resp.getheaders()),
                user=bview.settings.user,
            )
            expect(resp.status == 200, f"answered HTTP {resp.status} to request {n}", "200 OK", "4.5.1", ex)
            expect(
                not resp.will_close and conn.sock is first_socket,
                f"closed the connection after request {n} (Connection: {resp.getheader('Connection')})",
                "persistent connections for at least 20 requests",
                "4.5.1",
                ex,
                rule="http-persistent",
            )
    finally:
        conn.close()


@pytest.mark.readonly
@pytest.mark.bview_rule("http-connection-close")
def test_connection_close_honoured(bview) -> None:
    """4.5.1: after a request with `Connection: close` the device closes the connection."""
    if bview.settings.scheme == "https":
        pytest.skip("checked over plain HTTP only")
    request = (
        f"GET /System/DeviceInfo HTTP/1.1\r\nHost: {bview.host}\r\nAuthorization: {_basic(bview)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    ex = Exchange(
        "GET", f"{bview.client.base_url}/System/DeviceInfo", {"Connection": "close"}, b"", user=bview.settings.user
    )
    with socket.create_connection((bview.host, bview.port), timeout=bview.settings.timeout) as sock:
        sock.sendall(request)
        deadline = time.monotonic() + bview.settings.timeout
        received = b""
        closed = False
        while time.monotonic() < deadline:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                closed = True
                break
            received += chunk
    ex.status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/") else None
    expect(received.startswith(b"HTTP/1."), "sent no HTTP response", "an HTTP/1.1 response", "4.5.1", ex)
    expect(
        closed,
        f"kept the connection open {bview.settings.timeout:g} s after answering",
        "the connection closed after the response to a request with Connection: close",
        "4.5.1",
        ex,
    )


@pytest.mark.readonly
@pytest.mark.parametrize("path", XML_GETS)
@pytest.mark.bview_rule("entity-content-type", "entity-content-type-xml")
def test_xml_content_type(bview, path: str) -> None:
    """4.5.3: "The Content-Type entity-header field indicates the media type of the entity body".

    MUST: the label fits an XML body: an XML media type (application/xml, text/xml, */*+xml: RFC 7303) or the
    generic application/octet-stream the spec names ("may be designated as application/xml;charset='UTF-8',
    application/octet-stream, etc."). SHOULD ("usually application/xml; charset='UTF-8'"): an XML media type
    whose charset, when named, is UTF-8.
    """
    ex = bview.client.get(path)
    ctype = ex.headers.get("Content-Type", "")
    media, _, params = ctype.partition(";")
    media = media.strip().lower()
    xml = media in XML_MEDIA_TYPES or (media.startswith("application/") and media.endswith("+xml"))
    expect(ex.status == 200, f"answered HTTP {ex.status}", "200 OK", "4.5.3", ex)
    expect(
        xml or media == "application/octet-stream",
        f"labelled its XML reply {ctype!r}" if ctype else "sent no Content-Type with its XML reply",
        "a Content-Type that indicates the media type of the body (an XML type, or application/octet-stream)",
        "4.5.3",
        ex,
        rule="entity-content-type",
    )
    charsets = [v.strip().strip("'\"").lower() for k, _, v in (p.partition("=") for p in params.split(";"))
                if k.strip().lower() == "charset"]  # fmt: skip
    expect(
        xml and all(c in ("utf-8", "utf8") for c in charsets),
        f"labelled its XML reply {ctype!r}",
        "usually application/xml; charset=UTF-8 (an XML media type, UTF-8 when a charset is named)",
        "4.5.3",
        ex,
        rule="entity-content-type-xml",
    )


XML_MEDIA_TYPES = ("application/xml", "text/xml")  # RFC 7303: the same XML, two labels


@pytest.mark.readonly
@pytest.mark.bview_rule("url-error")
def test_unknown_url(bview) -> None:
    """7: an unknown URL is answered with statusCode -10 (URL error); ERRATA: HTTP 404 alone is accepted too."""
    ex = bview.client.get("/System/NoSuchResource")
    code = status_code(ex)
    expect(
        code == Status.URL_ERROR or (code is None and ex.status == 404),
        f"answered HTTP {ex.status} {checks.status_text(ex) or 'without a ResponseStatus'}",
        "statusCode -10 (URL Error), or HTTP 404",
        "7",
        ex,
    )
    if code is not None:
        expect(ex.status in (200, 404), f"answered -10 with HTTP {ex.status}", "HTTP 200 or 404 with -10", "7", ex)


def _other_channel(bview) -> int:
    return max(bview.instances.ChannelID) + 1


@pytest.mark.parametrize("case", cases("GET", where=lambda r, o: r.has("channel") and r.block is not None))
@pytest.mark.bview_rule("wrong-channel")
def test_wrong_channel(bview, case: Case) -> None:
    """7: a channel the device does not have is answered with statusCode -4."""
    url = case.resource.url(
        **{
            p: (_other_channel(bview) if p == "ChannelID" else v)
            for p, v in zip(case.resource.params, _values(case), strict=True)
        }
    )
    ex = bview.client.get(url)
    check_status(ex, Status.WRONG_CHANNEL, "7", f"channel {_other_channel(bview)} does not exist")


def _values(case: Case) -> list[str]:
    match = case.resource.regex.fullmatch(case.url)
    assert match is not None
    return [match.group(p) for p in case.resource.params]


COLOR = "/Images/1/Color"


@pytest.mark.reversible
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<Color><Brightness>50</Brightness>", id="unclosed root"),
        pytest.param(b"<Color><Brightness>50</Bright></Color>", id="mismatched close tag"),
        pytest.param(b"Brightness=50", id="not XML"),
        pytest.param(b"", id="empty body"),
    ],
)
@pytest.mark.bview_rule("xml-malformed-refused")
def test_malformed_xml(bview, body: bytes) -> None:
    """7: a body that is not well-formed XML gets -1 (or -2) and changes nothing."""
    before, _ = bview.read(COLOR)
    ex = bview.client.put(COLOR, body)
    check_status(ex, (Status.XML_URL_MISMATCH, Status.REQUIRED_TAG_MISSING), "7", "the XML cannot be decoded")
    after, _ = bview.read(COLOR)
    expect(after == before, f"changed {COLOR} to {after}", "nothing changes on a refused request", "7", ex)


@pytest.mark.reversible
@pytest.mark.bview_rule("xml-url-mismatch-refused")
def test_xml_not_matching_url(bview) -> None:
    """7: an XML block that does not belong to the URL gets -1 and changes nothing."""
    before, _ = bview.read(COLOR)
    body = b'<?xml version="1.0" encoding="UTF-8"?><Basic><NoiseReduce>strong</NoiseReduce></Basic>'
    ex = bview.client.put(COLOR, body)
    check_status(ex, Status.XML_URL_MISMATCH, "7", "<Basic> does not correspond to /Images/1/Color")
    after, _ = bview.read(COLOR)
    expect(after == before, f"changed {COLOR} to {after}", "nothing changes on a refused request", "7", ex)


@pytest.mark.reversible
@pytest.mark.bview_rule("response-status-shape")
def test_response_status_shape(bview) -> None:
    """7: a PUT is answered with a ResponseStatus holding requestURL (the request's path) and statusCode."""
    with bview.preserved(COLOR) as before:
        ex = bview.client.put(COLOR, _xml_of(before[COLOR]))
        check_status(ex, Status.OK, "4.5.4")
        root = checks.parse_xml(ex, "7")
        problems = checks.schema_errors(root, "ResponseStatus")
        expect(
            not problems,
            f"answered a ResponseStatus that breaks its schema: {'; '.join(problems)}",
            "<ResponseStatus> with <requestURL> and <statusCode>",
            "7",
            ex,
        )
        url = (root.findtext("requestURL") or "").strip()
        expect(url.endswith(COLOR), f"answered requestURL {url!r}", f"requestURL {COLOR}", "7", ex)


def _xml_of(doc: dict) -> bytes:
    from pytest_bview.protocol.xmlblocks import to_xml
    from pytest_bview.spec.blocks import BLOCKS

    return to_xml(BLOCKS["Color"], doc)
