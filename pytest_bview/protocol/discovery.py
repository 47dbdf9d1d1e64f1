"""Device discovery V2 (spec chapter 10) and SSDP (spec chapter 5) messages, as data: models, codec, parser.

Rule 1: a message is XML in one UDP datagram to 239.239.239.52:5566; a client sends CommandID 10,
        a device answers CommandID 11 to the sender's address and port; ReplyMsg 0 is success.
Rule 2: ConfigLength is the byte length of the whole UTF-8 datagram as sent, XML declaration and the
        ConfigLength attribute itself included ("the struct length that you send", spec 10 Note).
        A receiver checks it with one comparison: ``int(ConfigLength) == len(datagram)``.
Rule 3: we send well-formed XML; we read what devices that copied chapter 10's malformed samples send.
        Every repair the reader makes is recorded in ``Message.deviations`` so a check can report it;
        ``Message.repaired`` is the repaired document, the one schemas/DiscoveryV2.xsd validates.
Rule 4: no XML parser reads device input here: a small tokenizer does, and it refuses DOCTYPE and
        entity declarations outright (the repaired text is later given to defusedxml only).

Rule 5: no I/O: the kit's transports (``pytest_bview.discovery``) and the reference camera's responder
        (``pytest_bview.simulator.discovery``) both send and read these bytes.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

# Spec 10: "The multicast address is 239.239.239.52 at port 5566."
GROUP = "239.239.239.52"
PORT = 5566
# Spec 10 Note: "now, we only support "1.0.0"."
VERSION = "1.0.0"
# Spec 10 Note: "if it is the data that the client send, the <CommandID> is 10 ... the server send ... 11"
COMMAND_ID_CLIENT = 10
COMMAND_ID_DEVICE = 11
# Spec 10 samples, one per MainCommand.
PROBE = 100  # Detect Request
SET_DEVICE_CONFIG = 101  # Detect Set Device Configuration
GET_NET_CONFIG = 102  # Detect Network Configuration, requires authentication
SET_NET_CONFIG = 103  # Detect Set Network Configuration, requires authentication
COMMANDS = {PROBE: "probe", SET_DEVICE_CONFIG: "set device configuration", GET_NET_CONFIG: "get network configuration",
            SET_NET_CONFIG: "set network configuration"}  # fmt: skip
AUTHENTICATED = frozenset({GET_NET_CONFIG, SET_NET_CONFIG})
# Spec 10 Note: "if the <ReplyMsg> is 0, then reply success, otherwise, reply failed." The non-zero codes
# are ours (the reference camera's); a check only ever tells 0 from non-zero.
REPLY_OK, REPLY_FAILED, REPLY_AUTH_FAILED, REPLY_UNSUPPORTED = 0, 1, 2, 3
# The sample's DeviceMac="xx" is a placeholder; these mean "every device" on a read-only command.
WILDCARD_MACS = frozenset({"", "xx"})

# SSDP (spec 5 defers to UPnP Device Architecture 1.0, section 1).
SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
UPNP_DEVICE_TYPE = "urn:schemas-upnp-org:device:Basic:1"


class ParseError(ValueError):
    """A datagram that cannot be read as a Discovery V2 message even leniently."""


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class Head:
    """``<Head Version ConfigLength CommandID ReplyMsg/>``; integers are None when absent or not integers."""

    Version: str = VERSION
    ConfigLength: int | None = None
    CommandID: int | None = None
    ReplyMsg: int | None = None


@dataclass(frozen=True)
class CfgInfo:
    """``<CfgInfo MainCommand AssistCommand DeviceMac/>``; DeviceMac None when the attribute is absent."""

    MainCommand: int | None = None
    AssistCommand: int | None = -1
    DeviceMac: str | None = None


@dataclass(frozen=True)
class Auth:
    """``<Auth UserName UserPassword/>`` (102, 103). The password never shows in a repr."""

    UserName: str = ""
    UserPassword: str = field(default="", repr=False)


@dataclass(frozen=True)
class NetworkInterface:
    """One ``<NetworkInterface>`` of ``<NetworkInterfaceList>``; values are the wire text."""

    ID: str | None = None
    Enable: str | None = None
    DhcpEnable: str | None = None
    MAC: str | None = None
    IPAddress: str | None = None
    Netmask: str | None = None
    Gateway: str | None = None
    EnableAutoGenerateIP: str | None = None
    NetworkState: str | None = None


@dataclass(frozen=True)
class DeviceProbeConfig:
    """Body of the 100 reply and the 101 request; values are the wire text, None when absent."""

    TAG: ClassVar[str] = "DeviceProbeConfig"
    # Other spellings chapter 10 uses for the same field (spec lines 2856, 2859, 2862, 2996); see ERRATA.
    ALIASES: ClassVar[Mapping[str, str]] = {"DeviceEnableRegInterval": "DeviceRegisterInterval",
                                            "DeviceNetmask": "DeviceMask", "DetectPort": "DeviceDetectPort",
                                            "UlkUID": "UlUID"}  # fmt: skip

    DeviceType: str | None = None
    DeviceVersion: str | None = None
    DeviceChannelCount: str | None = None
    DeviceEnableRegister: str | None = None
    DeviceRegisterInterval: str | None = None
    DeviceMac: str | None = None
    DeviceIP: str | None = None
    DeviceMask: str | None = None
    DeviceGateway: str | None = None
    DeviceManagerHost: str | None = None
    DeviceDetectPort: str | None = None
    ManagerHostPort: str | None = None
    CommandPort: str | None = None
    MediaPort: str | None = None
    HttpPort: str | None = None
    RtspPort: str | None = None
    TutkUID: str | None = None
    UlUID: str | None = None


@dataclass(frozen=True)
class DeviceProbeNetConfig:
    """Body of the 102 reply and the 103 request (the 103 sample adds DeviceMac)."""

    TAG: ClassVar[str] = "DeviceProbeNetConfig"
    ALIASES: ClassVar[Mapping[str, str]] = {"DeviceRegisterInterval": "DeviceEnableRegInterval",
                                            "DetectPort": "DeviceDetectPort", "UlkUID": "UlUID"}  # fmt: skip

    DeviceType: str | None = None
    DeviceVersion: str | None = None
    DeviceChannelCount: str | None = None
    DeviceEnableRegister: str | None = None
    DeviceEnableRegInterval: str | None = None
    DeviceMac: str | None = None
    NetworkInterfaceList: tuple[NetworkInterface, ...] = ()
    DeviceManagerHost: str | None = None
    DeviceDetectPort: str | None = None
    ManagerHostPort: str | None = None
    CommandPort: str | None = None
    MediaPort: str | None = None
    HttpPort: str | None = None
    RtspPort: str | None = None
    TutkUID: str | None = None
    UlUID: str | None = None


Body = DeviceProbeConfig | DeviceProbeNetConfig
BODIES: dict[str, type[DeviceProbeConfig] | type[DeviceProbeNetConfig]] = {
    b.TAG: b for b in (DeviceProbeConfig, DeviceProbeNetConfig)
}
# Elements that carry attributes only; the samples leave some of them open (spec lines 2812, 2857, ...).
EMPTY_ELEMENTS = ("Head", "CfgInfo", "Auth")


@dataclass(frozen=True)
class Message:
    """One Discovery V2 message as read from (or for) the wire."""

    root: str  # "Request" or "Response"
    head: Head
    cfg: CfgInfo
    auth: Auth | None = None
    body: Body | None = None
    deviations: tuple[str, ...] = ()  # every repair the lenient reader made, "line N: what"
    raw: bytes = field(default=b"", repr=False, compare=False)  # the datagram exactly as received
    repaired: str = field(default="", repr=False, compare=False)  # well-formed XML, canonical names
    sender: tuple[str, int] | None = field(default=None, compare=False)
    elapsed: float | None = field(default=None, compare=False)  # seconds from our request to this reply

    @property
    def config_length_ok(self) -> bool:
        """Rule 2: ConfigLength equals the byte length of the datagram."""
        return self.head.ConfigLength == len(self.raw)

    def fields(self) -> dict[str, Any]:
        """The body as a dict of wire texts (interfaces as a list of dicts), absent fields left out."""
        return body_to_dict(self.body) if self.body is not None else {}


def body_to_dict(body: Body | NetworkInterface) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(body):
        value = getattr(body, f.name)
        if isinstance(value, tuple):
            out[f.name] = [body_to_dict(v) for v in value]
        elif value is not None:
            out[f.name] = value
    return out


def body_from_dict(kind: type[DeviceProbeConfig] | type[DeviceProbeNetConfig], values: Mapping[str, Any]) -> Body:
    """Build a body from a dict keyed by XML names (e.g. ``camera.discovery_facts()``); unknown keys ignored.

    ``interfaces`` (the facts' name) and ``NetworkInterfaceList`` both give the interface list.
    """
    names = {f.name for f in dataclasses.fields(kind)}
    kw: dict[str, Any] = {k: _text(v) for k, v in values.items() if k in names and k != "NetworkInterfaceList"}
    if kind is DeviceProbeConfig and "DeviceRegisterInterval" not in kw and "DeviceEnableRegInterval" in values:
        kw["DeviceRegisterInterval"] = _text(values["DeviceEnableRegInterval"])
    if kind is DeviceProbeNetConfig:
        if "DeviceEnableRegInterval" not in kw and "DeviceRegisterInterval" in values:
            kw["DeviceEnableRegInterval"] = _text(values["DeviceRegisterInterval"])
        nic_names = {f.name for f in dataclasses.fields(NetworkInterface)}
        nics = values.get("NetworkInterfaceList", values.get("interfaces", ()))
        kw["NetworkInterfaceList"] = tuple(
            NetworkInterface(**{k: _text(v) for k, v in nic.items() if k in nic_names}) for nic in nics
        )
    return kind(**kw)


def _text(value: Any) -> str:
    if isinstance(value, bool):  # xs:boolean on the wire
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- writing


def encode(
    root: str,
    head: Head,
    cfg: CfgInfo,
    auth: Auth | None = None,
    body: Body | None = None,
    *,
    config_length: int | None = None,
) -> bytes:
    """Serialise a message; ConfigLength is computed per Rule 2 unless ``config_length`` overrides it."""
    lines = [f"<{root}>"]
    head_at = len(lines)
    lines.append("")  # the Head line, filled in below
    lines.append(_empty("CfgInfo", cfg))
    if auth is not None:
        lines.append(_empty("Auth", auth))
    if body is not None:
        lines.extend(_element(body.TAG, body, "  "))
    lines.append(f"</{root}>")

    def render(length: int) -> bytes:
        lines[head_at] = _empty("Head", dataclasses.replace(head, ConfigLength=length))
        return ('<?xml version="1.0" encoding="UTF-8"?>\n' + "\n".join(lines) + "\n").encode()

    if config_length is not None:
        return render(config_length)
    length = 0
    while len(data := render(length)) != length:  # a fixed point within two rounds (digits only grow)
        length = len(data)
    return data


def build_request(
    main_command: int,
    mac: str | None = "",
    auth: Auth | None = None,
    body: Body | None = None,
    *,
    assist_command: int = -1,
) -> bytes:
    """The datagram a client sends: CommandID 10, Version 1.0.0, ConfigLength per Rule 2."""
    head = Head(VERSION, None, COMMAND_ID_CLIENT, None)
    return encode("Request", head, CfgInfo(main_command, assist_command, mac), auth, body)


def build_response(main_command: int, mac: str, reply_msg: int, body: Body | None = None, **kw: Any) -> bytes:
    """The datagram a device sends: CommandID 11 and ReplyMsg."""
    head = Head(VERSION, None, kw.pop("command_id", COMMAND_ID_DEVICE), reply_msg)
    return encode("Response", head, CfgInfo(main_command, kw.pop("assist_command", -1), mac), None, body, **kw)


def _empty(tag: str, obj: Any) -> str:
    attrs = " ".join(
        f'{f.name}="{html.escape(str(v), quote=True)}"'
        for f in dataclasses.fields(obj)
        if (v := getattr(obj, f.name)) is not None
    )
    return f"  <{tag} {attrs} />"


def _element(tag: str, obj: Any, indent: str) -> Iterator[str]:
    yield f"{indent}<{tag}>"
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, tuple):
            yield f"{indent}  <{f.name}>"
            for item in value:
                yield from _element(type(item).__name__, item, indent + "    ")
            yield f"{indent}  </{f.name}>"
        elif value is not None:
            yield f"{indent}  <{f.name}>{html.escape(value, quote=False)}</{f.name}>"
    yield f"{indent}</{tag}>"


# --------------------------------------------------------------------------- lenient reading

# XML 1.0 names, restricted to what a tag of this protocol can be (ASCII).
_NAME = r"[A-Za-z_:][-A-Za-z0-9_.:]*"
# No alternative scans past the next "<" when it fails (a quoted value, a PI, a declaration holds none), so a
# datagram of unclosed constructs costs linear time, not a scan to its end per "<" (a 65 KB datagram: ms).
_TOKEN = re.compile(
    rf"""<!--(?P<comment>.*?)(?:-->|\Z)
       |<\?(?P<pi>[^<>]*)>
       |<!(?P<decl>[^<>]*)>
       |</\s*(?P<end>{_NAME})\s*>
       |<(?P<start>{_NAME})(?P<attrs>(?:\s+{_NAME}\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))*)\s*(?P<empty>/?)>
       |(?P<text>[^<]+)
       |(?P<junk><)""",
    re.S | re.X,
)
# XML 1.0, 2.2 Char: what a document may contain (NUL, most C0 controls, surrogates, U+FFFE/F may not).
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_KIND_OF = {"attrs": "start", "empty": "start"}  # a start tag's last matched group is one of its parts
_ATTR = re.compile(rf"""({_NAME})\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")


@dataclass
class _Node:
    name: str
    raw_name: str
    line: int
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[_Node] = field(default_factory=list)
    text: str = ""


def _unescape(value: str) -> str:
    def one(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref.startswith("#"):
            try:
                char = chr(int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:]))
            except (ValueError, OverflowError):
                return m.group(0)
            return m.group(0) if _NOT_XML_CHAR.match(char) else char
        return html.unescape(m.group(0))

    return _ENTITY.sub(one, value)


class _Reader:
    """Builds a tree from tokens, repairing what the spec's samples get wrong and noting each repair."""

    # A Discovery V2 message nests 4 deep in some 200 tokens (tags, text runs, attributes, entity references);
    # beyond these it is an attack on the reader: ParseError before the work grows with the datagram
    MAX_DEPTH = 32
    MAX_TOKENS = 1024

    def __init__(self, text: str) -> None:
        self.text = text
        self.deviations: list[str] = []
        self.root: _Node | None = None
        self.stack: list[_Node] = []
        self._open: dict[str, int] = {}  # name -> how many elements of that name are on the stack
        self._bodies: list[Any] = []  # the body classes on the stack, innermost last
        self._at = (0, 1)  # (position, its line): reading goes forward, so counting goes on from there
        self._budget = self.MAX_TOKENS  # tokens, attributes and entity references

    def spend(self, work: int) -> None:
        self._budget -= work
        if self._budget < 0:
            raise ParseError(f"more than {self.MAX_TOKENS} XML tokens: not a Discovery V2 message")

    def line(self, pos: int) -> int:
        at, line = self._at if pos >= self._at[0] else (0, 1)
        line += self.text.count("\n", at, pos)
        self._at = (pos, line)
        return line

    def note(self, pos: int, what: str) -> None:
        self.deviations.append(f"line {self.line(pos)}: {what}")

    def canonical(self, raw: str) -> str:
        """Rename an alias to the name its enclosing body uses (DeviceNetmask -> DeviceMask, ...)."""
        return self._bodies[-1].ALIASES.get(raw, raw) if self._bodies else raw

    def push(self, node: _Node) -> None:
        if len(self.stack) >= self.MAX_DEPTH:
            raise ParseError(f"elements nested deeper than {self.MAX_DEPTH}")
        self.stack.append(node)
        self._open[node.name] = self._open.get(node.name, 0) + 1
        if (body := BODIES.get(node.name)) is not None:
            self._bodies.append(body)

    def pop(self) -> _Node:
        node = self.stack.pop()
        self._open[node.name] -= 1
        if BODIES.get(node.name) is not None:
            self._bodies.pop()
        return node

    def read(self) -> _Node:
        seen_decl = False
        for m in _TOKEN.finditer(self.text):
            self.spend(1)
            pos = m.start()
            kind = _KIND_OF.get(m.lastgroup, m.lastgroup)  # type: ignore[arg-type]
            if kind == "comment":
                if not m.group(0).endswith("-->"):
                    self.note(pos, "comment not closed before the end of the message")
            elif kind == "pi":
                if seen_decl or self.root is not None or not m.group("pi").startswith("xml"):
                    self.note(pos, f"processing instruction <?{m.group('pi')}> ignored")
                    continue
                seen_decl = True
                if not m.group("pi").endswith("?"):
                    end = "/>" if m.group("pi").endswith("/") else ">"
                    self.note(pos, f'XML declaration ends with "{end}" instead of "?>"')
            elif kind == "decl":
                # Rule 4: no DOCTYPE, no entity declarations, ever (billion laughs, external entities).
                raise ParseError(f"<!{m.group('decl')[:40]}> is not allowed in a Discovery V2 message")
            elif kind == "start":
                self.start(pos, m.group("start"), m.group("attrs"), bool(m.group("empty")))
            elif kind == "end":
                self.end(pos, m.group("end"))
            elif kind == "text":
                self.chars(pos, m.group("text"))
            else:
                self.note(pos, "stray '<' ignored")
        for node in reversed(self.stack):
            self.note(len(self.text), f"<{node.raw_name}> not closed before the end of the message")
        if self.root is None:
            raise ParseError("no root element")
        return self.root

    def start(self, pos: int, raw: str, attr_text: str, empty: bool) -> None:
        name = self.canonical(raw)
        top = self.stack[-1] if self.stack else None
        if top is not None and top.name == name and not top.children:
            # <DeviceMask>...<DeviceMask>, <TutkUID>...<TutkUID> (spec lines 2828, 2836, ...)
            self.note(pos, f"<{top.raw_name}> closed by a start tag <{raw}>, read as </{top.raw_name}>")
            self.pop()
            return
        if raw != name:
            self.note(pos, f"<{raw}> read as <{name}>")
        if top is None and self.root is not None:
            self.note(pos, f"<{raw}> after the root element ignored")
            return
        attrs: dict[str, str] = {}
        self.spend(attr_text.count("=") + attr_text.count("&"))
        for a in _ATTR.finditer(attr_text):
            if a.group(1) in attrs:
                self.note(pos, f"attribute {a.group(1)} repeated on <{raw}>; the first kept")
            else:
                attrs[a.group(1)] = _unescape(a.group(2) if a.group(2) is not None else a.group(3))
        node = _Node(name, raw, self.line(pos), attrs)
        if top is None:
            self.root = node
        else:
            top.children.append(node)
        if not empty:
            if name in EMPTY_ELEMENTS:
                self.note(pos, f"<{raw} ...> not closed, read as <{raw} ... />")
            else:
                self.push(node)

    def end(self, pos: int, raw: str) -> None:
        name = self.canonical(raw)
        if self._open.get(name):
            while self.stack[-1].name != name:
                self.note(pos, f"<{self.pop().raw_name}> not closed before </{raw}>")
            node = self.pop()
            if node.raw_name != raw:
                self.note(pos, f"<{node.raw_name}> closed by </{raw}>")
        elif self.stack and not self.stack[-1].children and name not in EMPTY_ELEMENTS:
            # <DeviceRegisterInterval>...</DeviceEnableRegInterval> (spec line 2864)
            self.note(pos, f"<{self.stack[-1].raw_name}> closed by </{raw}>")
            self.pop()
        else:
            self.note(pos, f"end tag </{raw}> without a start tag ignored")

    def chars(self, pos: int, text: str) -> None:
        self.spend(text.count("&"))
        if self.stack:
            self.stack[-1].text += _unescape(text)
        elif text.strip():
            self.note(pos, f"text outside the root element ignored: {text.strip()[:30]!r}")


def _int_attr(node: _Node, name: str, notes: list[str], default: int | None = None) -> int | None:
    value = node.attrs.get(name)
    if value is None:
        return default
    try:
        return int(value.strip())
    except ValueError:
        notes.append(f"line {node.line}: <{node.raw_name}> {name}={value!r} is not an integer")
        return None


def _leaf_text(node: _Node, notes: list[str]) -> str:
    if node.children:
        notes.append(
            f"line {node.line}: <{node.raw_name}> should hold text, holds <{node.children[0].raw_name}>; ignored"
        )
    return node.text.strip()


def _fill(kind: type, node: _Node, notes: list[str]) -> Any:
    kw: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(kind)}
    for child in node.children:
        if child.name not in names:
            notes.append(f"line {child.line}: unknown element <{child.raw_name}> in <{node.name}> ignored")
        elif child.name in kw:
            notes.append(f"line {child.line}: <{child.name}> repeated in <{node.name}>; the first kept")
        elif child.name == "NetworkInterfaceList":
            nics = []
            for nic in child.children:
                if nic.name == "NetworkInterface":
                    nics.append(_fill(NetworkInterface, nic, notes))
                else:
                    notes.append(f"line {nic.line}: unknown element <{nic.raw_name}> in <NetworkInterfaceList> ignored")
            kw[child.name] = tuple(nics)
        else:
            kw[child.name] = _leaf_text(child, notes)
    return kind(**kw)


def _serialise(node: _Node, indent: str = "") -> str:
    attrs = "".join(f' {k}="{html.escape(v, quote=True)}"' for k, v in node.attrs.items())
    if node.children:
        inner = "".join(_serialise(c, indent + "  ") for c in node.children)
        return f"{indent}<{node.name}{attrs}>\n{inner}{indent}</{node.name}>\n"
    if node.name in EMPTY_ELEMENTS:
        return f"{indent}<{node.name}{attrs}/>\n"
    return f"{indent}<{node.name}{attrs}>{html.escape(node.text.strip(), quote=False)}</{node.name}>\n"


def parse_message(data: bytes) -> Message:
    """Read one datagram leniently (Rule 3). Raises ParseError when it is no Discovery V2 message at all."""
    notes: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        notes.append("line 1: the message is not valid UTF-8; undecodable bytes replaced")
    if text.startswith("\ufeff"):
        text = text[1:]
    text, bad = _NOT_XML_CHAR.subn("\ufffd", text)
    if bad:
        notes.append(f"line 1: {bad} character(s) not allowed in XML 1.0 replaced by U+FFFD")
    reader = _Reader(text)
    root = reader.read()
    notes[:0] = reader.deviations
    if root.name not in ("Request", "Response"):
        raise ParseError(f"root element <{root.raw_name}> is neither <Request> nor <Response>")
    parts = {c.name: c for c in reversed(root.children)}  # the first of each name wins
    if "Head" not in parts or "CfgInfo" not in parts:
        raise ParseError(f"<{root.name}> without <Head> or <CfgInfo>")
    h, c = parts["Head"], parts["CfgInfo"]
    head = Head(
        h.attrs.get("Version", ""),
        _int_attr(h, "ConfigLength", notes),
        _int_attr(h, "CommandID", notes),
        _int_attr(h, "ReplyMsg", notes),
    )
    cfg = CfgInfo(_int_attr(c, "MainCommand", notes), _int_attr(c, "AssistCommand", notes), c.attrs.get("DeviceMac"))
    auth = None
    if (a := parts.get("Auth")) is not None:
        auth = Auth(a.attrs.get("UserName", ""), a.attrs.get("UserPassword", ""))
    body = None
    for name, kind in BODIES.items():
        if name in parts:
            body = _fill(kind, parts[name], notes)
            break
    for child in root.children:
        if child.name not in (*EMPTY_ELEMENTS, *BODIES):
            notes.append(f"line {child.line}: unknown element <{child.raw_name}> in <{root.name}> ignored")
    repaired = '<?xml version="1.0" encoding="UTF-8"?>\n' + _serialise(root)
    return Message(root.name, head, cfg, auth, body, tuple(notes), bytes(data), repaired)


def same_mac(a: str | None, b: str | None) -> bool:
    """MACs compare case-insensitively and ignoring separators (":" / "-")."""
    return bool(mac_digits(a)) and mac_digits(a) == mac_digits(b)


def mac_digits(mac: str | None) -> str:
    """The hex digits of a MAC, lower case, separators dropped."""
    return re.sub(r"[^0-9a-f]", "", (mac or "").lower())


# --------------------------------------------------------------------------- SSDP (spec 5)


def msearch(st: str = "ssdp:all", mx: int = 1, host: str = SSDP_GROUP, port: int = SSDP_PORT) -> bytes:
    """An M-SEARCH request (UPnP DA 1.0, 1.2.2)."""
    return (
        f'M-SEARCH * HTTP/1.1\r\nHOST: {host}:{port}\r\nMAN: "ssdp:discover"\r\nMX: {mx}\r\nST: {st}\r\n\r\n'
    ).encode()


def parse_ssdp(data: bytes) -> tuple[str, dict[str, str]]:
    """Start line and headers (names upper-cased) of an SSDP message; raises ValueError when it is none."""
    text = data.decode("utf-8", errors="replace")
    head, _, _ = text.partition("\r\n\r\n")
    start, *lines = head.split("\r\n")
    if not start:
        raise ValueError("empty SSDP message")
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"SSDP header line without a colon: {line[:60]!r}")
        headers.setdefault(name.strip().upper(), value.strip())
    return start, headers


UPNP_NS = "urn:schemas-upnp-org:device-1-0"


def upnp_device(body: bytes) -> dict[str, str] | None:
    """The <device> fields of a UPnP device description (UDA 1.0, 2.3) by name, or None when the body is
    not a UPnP root. defusedxml reads it: entities and DTDs are refused."""
    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(body)
    except Exception:  # malformed, or refused by defusedxml: not a description either way
        return None
    dev = root.find(f"{{{UPNP_NS}}}device")
    if root.tag != f"{{{UPNP_NS}}}root" or dev is None:
        return None
    return {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in dev}
