"""Discovery V2 (spec 10) and SSDP (spec 5): the reader, the writer, the scapy layer and the responders.

Every responder test runs a real ``DiscoveryResponder`` on 127.0.0.1 and a non-default port, and talks to it
over ``SocketTransport`` exactly as the suite does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import xmlschema
from defusedxml import ElementTree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_bview import discovery as d
from pytest_bview.simulator import discovery as sim
from pytest_bview.simulator import faults as fault_registry

SCHEMA = xmlschema.XMLSchema("schemas/DiscoveryV2.xsd")
MAC = "00:12:34:56:78:9A"
OTHER_MAC = "00:12:34:56:78:9B"
RIGHT = d.Auth("admin", "admin")
WRONG = d.Auth("admin", "nope")

# Chapter 10's samples, verbatim; a page break splits some: the fragments are joined (schemas/ERRATA.md, Discovery V2 E1).
SPEC_SAMPLES = {
    "100 request": (  # spec lines 2804-2808
        """\
<?xml version="1.0" encoding="UTF-8">
<Request>
  <Head Version="1.0.0" ConfigLength="xxx" CommandID="10" />
  <CfgInfo MainCommand="100" AssistCommand="-1" DeviceMac="xx" />
</Request>
"""
    ),
    "100 response": (  # spec lines 2811-2834 + 2839-2841
        """\
<?xml version="1.0" encoding="UTF-8">
<Response>
  <Head Version="1.0.0" ConfigLength="xxx" CommandID="11" ReplyMsg="xx">
  <CfgInfo MainCommand="100" AssistCommand="-1" DeviceMac="xx" />
  <DeviceProbeConfig>
    <DeviceType><!--ro,req,xs:string--></DeviceType>
    <DeviceVersion><!--ro,req,xs:string--></DeviceVersion>
    <DeviceChannelCount><!--ro,req,xs:integer--></DeviceChannelCount>
    <DeviceEnableRegister><!--req,xs:boolean--></DeviceEnableRegister>
    <DeviceRegisterInterval>
      <!--req,xs:integer,"second"-->
    </DeviceRegisterInterval>
    <DeviceMac><!--ro,req,xs:string--></DeviceMac>
    <DeviceIP><!--req,xs:string--></DeviceIP>
    <DeviceMask><!--req,xs:string--><DeviceMask>
    <DeviceGateway><!--req,xs:string--></DeviceGateway>
    <DeviceManagerHost><!--req,xs:string--></DeviceManagerHost>
    <DeviceDetectPort><!--req,xs:integer--></DeviceDetectPort>
    <ManagerHostPort><!--req,xs:integer--></ManagerHostPort>
    <CommandPort><!--req,xs:integer--></CommandPort>
    <MediaPort><!--req,xs:integer--></MediaPort>
    <HttpPort><!--req,xs:integer--></HttpPort>
    <RtspPort><!--req,xs:integer--></RtspPort>
    <TutkUID><!--ro,req,xs:integer--><TutkUID>
        <UlUID><!--ro,req,xs:integer--><UlUID>
    </DeviceProbeConfig>
</Response>
"""
    ),
    "101 request": (  # spec lines 2845-2871
        """\
<?xml version="1.0" encoding="UTF-8">
<Request>
    <Head Version="1.0.0" ConfigLength="xxx" CommandID="10">
    <CfgInfo MainCommand="101" AssistCommand="-1" DeviceMac="xx" />
    <DeviceProbeConfig>
        <DeviceType><!--ro,req,xs:string--></DeviceType>
        <DeviceVersion><!--ro,req,xs:string--></DeviceVersion>
        <DeviceChannelCount><!--ro,req,xs:integer--></DeviceChannelCount>
        <DeviceEnableRegister><!--req,xs:boolean--></DeviceEnableRegister>
        <DeviceRegisterInterval>
            <!--req,xs:integer,"second"-->
        </DeviceEnableRegInterval>
        <DeviceMac><!--ro,req,xs:string--></DeviceMac>
        <DeviceIP><!--req,xs:string--></DeviceIP>
        <DeviceNetmask><!--req,xs:string--><DeviceMask>
        <DeviceGateway><!--req,xs:string--></DeviceGateway>
        <DeviceManagerHost><!--req,xs:string--></DeviceManagerHost>
        <DetectPort><!--req,xs:integer--></DeviceDetectPort>
        <ManagerHostPort><!--req,xs:integer--></ManagerHostPort>
        <CommandPort><!--req,xs:integer--></CommandPort>
        <MediaPort><!--req,xs:integer--></MediaPort>
        <HttpPort><!--req,xs:integer--></HttpPort>
        <RtspPort><!--req,xs:integer--></RtspPort>
        <TutkUID><!--ro,req,xs:integer--><TutkUID>
        <UlUID><!--ro,req,xs:integer--><UlUID>
    </DeviceProbeConfig>
</Request >
"""
    ),
    "101 response": (  # spec lines 2874-2878
        """\
<?xml version="1.0" encoding="UTF-8">
<Response>
    <Head Version="x.x.x" ConfigLength="xxx" CommandID="11" ReplyMsg="xx" />
    <CfgInfo MainCommand="101" AssistCommand="-1" DeviceMac="xx" />
</Response>
"""
    ),
    "102 request": (  # spec lines 2892-2897
        """\
<?xml version="1.0" encoding="UTF-8">
<Request>
  <Head Version="1.0.0" ConfigLength="xxx" CommandID="10" />
  <CfgInfo MainCommand="102" AssistCommand="-1" DeviceMac="xx" />
  <Auth UserName="xx" UserPassword="xx" />
</Request>
"""
    ),
    "102 response": (  # spec lines 2903-2936 + 2941-2946
        """\
<?xml version="1.0" encoding="UTF-8">
<Response>
  <Head Version="1.0.0" ConfigLength="xxx" CommandID="11" ReplyMsg="xx">
  <CfgInfo MainCommand="102" AssistCommand="-1" DeviceMac="xx" />
  <DeviceProbeNetConfig>
    <DeviceType><!--ro,req,xs:string--></DeviceType>
    <DeviceVersion><!--ro,req,xs:string--></DeviceVersion>
    <DeviceChannelCount><!--ro,req,xs:integer--></DeviceChannelCount>
    <DeviceEnableRegister><!--req,xs:boolean--></DeviceEnableRegister>
    <DeviceEnableRegInterval>
      <!--req,xs:integer,second in unit-->
    </DeviceEnableRegInterval>
    <NetworkInterfaceList>
      <NetworkInterface>
        <ID><!--req,xs:string--></ID>
        <Enable><!--ro,req,xs:string,"open,close,notsupport"--></Enable>
        <DhcpEnable><!--req,xs:boolean--></DhcpEnable>
        <MAC><!--req,xs:string--></MAC>
        <IPAddress><!--req,xs:string--></IPAddress>
        <Netmask><!--req,xs:string--></Netmask>
        <Gateway><!--req,xs:string--></Gateway>
        <EnableAutoGenerateIP>
          <!--req,xs:boolean-->
        </EnableAutoGenerateIP>
        <NetworkState>
          <!--ro,opt,"get ip success,close,getting ip,get ip failed"-->
        </NetworkState>
      </NetworkInterface>
    </NetworkInterfaceList>
    <DeviceManagerHost><!--req,xs:string--></DeviceManagerHost>
    <DeviceDetectPort><!--req,xs:integer--></DeviceDetectPort>
    <ManagerHostPort><!--req,xs:integer--></ManagerHostPort>
    <CommandPort><!--req,xs:integer--></CommandPort>
    <MediaPort><!--req,xs:integer--></MediaPort>
        <HttpPort><!--req,xs:integer--></HttpPort>
        <RtspPort><!--req,xs:integer--></RtspPort>
        <TutkUID><!--ro,req,xs:integer--><TutkUID>
        <UlUID><!--ro,req,xs:integer--><UlUID>
    </DeviceProbeNetConfig>
</Response>
"""
    ),
    "103 request": (  # spec lines 2950-2984 + 2993-2998
        """\
<?xml version="1.0" encoding="UTF-8">
<Request>
    <Head Version="1.0.0" ConfigLength="xxx" CommandID="10">
    <CfgInfo MainCommand="103" AssistCommand="-1" DeviceMac="xx" />
    <Auth UserName="xx" UserPassword="xx" />
    <DeviceProbeNetConfig>
        <DeviceType><!--ro,req,xs:string--></DeviceType>
        <DeviceVersion><!--ro,req,xs:string--></DeviceVersion>
        <DeviceChannelCount><!--ro,req,xs:integer--></DeviceChannelCount>
        <DeviceEnableRegister><!--req,xs:boolean--></DeviceEnableRegister>
        <DeviceEnableRegInterval>
            <!--req,xs:integer,second in unit-->
        </DeviceEnableRegInterval>
        <DeviceMac><!--ro,req,xs:string--></DeviceMac>
        <NetworkInterfaceList>
            <NetworkInterface>
                <ID><!--req,xs:string--></ID>
                <Enable><!--req,xs:string,"open,close,notsupport"--></Enable>
                <DhcpEnable><!--req,xs:boolean--></DhcpEnable>
                <MAC><!--req,xs:string--></MAC>
                <IPAddress><!--req,xs:string--></IPAddress>
                <Netmask><!--req,xs:string--></Netmask>
                <Gateway><!--req,xs:string--></Gateway>
                <EnableAutoGenerateIP>
                    <!--req,xs:boolean-->
                </EnableAutoGenerateIP>
                <NetworkState>
                    <!--opt,"get ip success,close,getting ip,get ip failed"-->
                </NetworkState>
            </NetworkInterface>
        </NetworkInterfaceList>
        <DeviceManagerHost><!--req,xs:string--></DeviceManagerHost>
        <DeviceDetectPort><!--req,xs:integer--></DeviceDetectPort>
        <ManagerHostPort><!--req,xs:integer--></ManagerHostPort>
        <CommandPort><!--req,xs:integer--></CommandPort>
        <HttpPort><!--req,xs:integer--></HttpPort>
        <RtspPort><!--req,xs:integer--></RtspPort>
        <TutkUID><!--ro,req,xs:integer--><TutkUID>
        <UlkUID><!--ro,req,xs:integer--><UlkUID>
    </DeviceProbeNetConfig>
</Request>
"""
    ),
    "103 response": (  # spec lines 3001-3005
        """\
<?xml version="1.0" encoding="UTF-8" />
<Response>
    <Head Version="1.0.0" ConfigLength="xxx" CommandID="11" ReplyMsg="xx" />
    <CfgInfo MainCommand="103" AssistCommand="-1" DeviceMac="xx" />
</Response>
"""
    ),
}

# What the reader must repair in each sample (a substring of one deviation each).
EXPECTED_REPAIRS = {
    "100 request": ['declaration ends with ">"', "ConfigLength='xxx'"],
    "100 response": ["<Head ...> not closed", "<DeviceMask> closed by a start tag", "<TutkUID> closed by a start tag",
                     "<UlUID> closed by a start tag", "ReplyMsg='xx'"],
    "101 request": ["<Head ...> not closed", "<DeviceRegisterInterval> closed by </DeviceEnableRegInterval>",
                    "<DeviceNetmask> read as <DeviceMask>", "<DetectPort> read as <DeviceDetectPort>"],
    "101 response": ['declaration ends with ">"', "ReplyMsg='xx'"],
    "102 request": ['declaration ends with ">"'],
    "102 response": ["<Head ...> not closed", "<TutkUID> closed by a start tag"],
    "103 request": ["<Head ...> not closed", "<UlkUID> read as <UlUID>"],
    "103 response": ['declaration ends with "/>"'],
}  # fmt: skip


# --------------------------------------------------------------------------- the reader on the spec's samples


@pytest.mark.parametrize("name", SPEC_SAMPLES)
def test_spec_sample_parses_with_its_repairs_recorded(name: str) -> None:
    """Spec 10: every sample reads, with each malformation recorded as a deviation."""
    msg = d.parse_message(SPEC_SAMPLES[name].encode())
    command, direction = name.split()
    assert msg.root == ("Request" if direction == "request" else "Response")
    assert msg.cfg.MainCommand == int(command)
    assert msg.head.CommandID == (d.COMMAND_ID_CLIENT if direction == "request" else d.COMMAND_ID_DEVICE)
    for repair in EXPECTED_REPAIRS[name]:
        assert any(repair in dev for dev in msg.deviations), (repair, msg.deviations)
    ElementTree.fromstring(msg.repaired)  # the repaired document is well-formed


def test_spec_sample_bodies_have_every_field() -> None:
    """The repairs lose no field: the 101 sample's DeviceMask and DeviceDetectPort, the 103 sample's UlUID."""
    probe = d.parse_message(SPEC_SAMPLES["101 request"].encode()).body
    assert isinstance(probe, d.DeviceProbeConfig)
    assert all(v is not None for v in d.body_to_dict(probe).values())
    assert len(d.body_to_dict(probe)) == len(dataclasses.fields(d.DeviceProbeConfig))
    net = d.parse_message(SPEC_SAMPLES["103 request"].encode()).body
    assert isinstance(net, d.DeviceProbeNetConfig)
    assert net.UlUID == "" and net.RtspPort == "" and len(net.NetworkInterfaceList) == 1
    assert d.parse_message(SPEC_SAMPLES["102 request"].encode()).auth == d.Auth("xx", "xx")


def test_reader_refuses_doctype_and_entities() -> None:
    """Rule 4 of pytest_bview.protocol.discovery: no DOCTYPE, so no entity expansion ever."""
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><Request><Head/><CfgInfo/></Request>'
    with pytest.raises(d.ParseError, match="not allowed"):
        d.parse_message(bomb)


@pytest.mark.parametrize(
    "data, error",
    [(b"", "no root"), (b"hello", "no root"), (b"<Foo/>", "neither"), (b"<Request><Head/></Request>", "without")],
)
def test_reader_rejects_what_is_no_message(data: bytes, error: str) -> None:
    with pytest.raises(d.ParseError, match=error):
        d.parse_message(data)


# --------------------------------------------------------------------------- writer round trip


def _facts_body(kind: type) -> Any:
    return d.body_from_dict(kind, sim.FakeCamera().discovery_facts())


@pytest.mark.parametrize(
    "command, auth, body",
    [
        (d.PROBE, None, None),
        (d.SET_DEVICE_CONFIG, None, _facts_body(d.DeviceProbeConfig)),
        (d.GET_NET_CONFIG, RIGHT, None),
        (d.SET_NET_CONFIG, d.Auth('a<&"b', "p&'w"), _facts_body(d.DeviceProbeNetConfig)),
    ],
)
def test_build_parse_round_trip(command: int, auth: d.Auth | None, body: Any) -> None:
    """What we send reads back identically, without deviations, valid against DiscoveryV2.xsd, and
    ConfigLength is the datagram's byte length (pytest_bview.protocol.discovery Rule 2)."""
    data = d.build_request(command, MAC, auth, body)
    msg = d.parse_message(data)
    assert msg == d.Message("Request", d.Head(d.VERSION, len(data), 10, None), d.CfgInfo(command, -1, MAC), auth, body)
    assert msg.config_length_ok and msg.deviations == ()
    SCHEMA.validate(msg.repaired)


def test_config_length_counts_multibyte_characters_as_bytes() -> None:
    data = d.build_request(d.GET_NET_CONFIG, MAC, d.Auth("Bénédicte", "日本"))
    assert d.parse_message(data).head.ConfigLength == len(data) > len(data.decode())


# --------------------------------------------------------------------------- the scapy layer


def test_scapy_layer_dissects_a_built_frame() -> None:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    from pytest_bview.discovery_scapy import DiscoveryV2, multicast_mac

    payload = d.build_request(d.PROBE, "")
    frame = Ether(dst=multicast_mac()) / IP(dst=d.GROUP) / UDP(sport=40000, dport=d.PORT) / DiscoveryV2(xml=payload)
    back = Ether(bytes(frame))
    assert back[Ether].dst == "01:00:5e:6f:ef:34"
    assert DiscoveryV2 in back and back[DiscoveryV2].xml == payload
    assert back[DiscoveryV2].message().cfg.MainCommand == d.PROBE
    reply = IP(bytes(IP(dst="10.0.0.1") / UDP(sport=d.PORT, dport=40000) / DiscoveryV2(xml=b"<Response/>")))
    assert DiscoveryV2 in reply and "unreadable" in reply[DiscoveryV2].mysummary()


# --------------------------------------------------------------------------- the responder over real sockets


class Loop:
    """An asyncio loop in a thread, so a synchronous transport can talk to an async responder."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(5)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def loop() -> Iterator[Loop]:
    lp = Loop()
    yield lp
    lp.close()


@pytest.fixture
def camera() -> sim.FakeCamera:
    return sim.FakeCamera(mac=MAC)


@pytest.fixture
def serve(loop: Loop, camera: sim.FakeCamera) -> Iterator[Any]:
    """serve(*faults) -> a SocketTransport talking to a fresh responder on 127.0.0.1, ephemeral port."""
    started: list[sim.DiscoveryResponder] = []

    def start(*faults: str) -> d.SocketTransport:
        responder = sim.DiscoveryResponder(camera, port=0, bind="127.0.0.1", faults=sim.faults_from_names(faults))
        started.append(loop.run(responder.start()))
        return d.SocketTransport(port=responder.port, interface="127.0.0.1")

    yield start
    for responder in started:
        loop.run(responder.stop())


def test_probe_over_multicast_on_loopback(serve: Any, camera: sim.FakeCamera) -> None:
    """Spec 10: a 100 probe to 239.239.239.52 is answered, CommandID 11, ReplyMsg 0, right ConfigLength."""
    transport = serve()
    replies = transport.probe(timeout=0.5)
    assert len(replies) == 1
    (reply,) = replies
    assert reply.head.CommandID == 11 and reply.head.ReplyMsg == 0 and reply.config_length_ok
    assert reply.deviations == () and reply.sender == ("127.0.0.1", transport.port)
    assert reply.fields()["DeviceMac"] == MAC
    SCHEMA.validate(reply.repaired)
    assert reply.elapsed is not None and reply.elapsed < 0.1


def test_probe_round_trip_time(serve: Any, record_property: Any) -> None:
    """Measured, not asserted beyond sanity: the median probe round trip on loopback."""
    transport = serve()
    times = sorted(transport.probe(timeout=0.5, stop_after=1)[0].elapsed for _ in range(20))
    record_property("probe_rtt_median_ms", round(times[10] * 1000, 3))
    print(f"probe round trip on loopback: median {times[10] * 1000:.3f} ms, max {times[-1] * 1000:.3f} ms")


def test_two_responders_share_a_port(loop: Loop, serve: Any) -> None:
    """SO_REUSEPORT: two cameras on one port each answer a probe (a fleet on one machine)."""
    transport = serve()
    other = sim.DiscoveryResponder(sim.FakeCamera(mac=OTHER_MAC), port=transport.port, bind="127.0.0.1")
    loop.run(other.start())
    try:
        macs = {r.fields()["DeviceMac"] for r in transport.probe(timeout=0.5)}
    finally:
        loop.run(other.stop())
    assert macs == {MAC, OTHER_MAC}


@pytest.mark.parametrize("target", ["", "xx", None, MAC, MAC.lower().replace(":", "-")])
def test_probe_targets(serve: Any, target: str | None) -> None:
    """Spec 10: an absent, empty or "xx" DeviceMac probes every device; our MAC in any spelling probes us."""
    transport = serve()
    data = d.build_request(d.PROBE, target)
    assert len(transport.send_raw(data, timeout=0.3)) == 1


@pytest.mark.parametrize("command", [d.PROBE, d.GET_NET_CONFIG, d.SET_NET_CONFIG, d.SET_DEVICE_CONFIG])
def test_request_for_another_mac_is_ignored(serve: Any, camera: sim.FakeCamera, command: int) -> None:
    """Spec 10 "<DeviceMac> is the Device mac that you want to set": another MAC gets silence, no change."""
    transport = serve()
    before = camera.discovery_facts()
    assert transport.request(command, OTHER_MAC, RIGHT, _facts_body(d.DeviceProbeNetConfig), timeout=0.3) is None
    assert camera.discovery_facts() == before


def test_set_commands_need_an_exact_mac(serve: Any, camera: sim.FakeCamera) -> None:
    """A wildcard DeviceMac never configures: 101/103 to "" or "xx" get no answer."""
    transport = serve()
    body = _facts_body(d.DeviceProbeNetConfig)
    assert transport.request(d.SET_NET_CONFIG, "xx", RIGHT, body, timeout=0.3) is None
    assert camera.applied == []


def test_102_with_right_credentials_returns_net_config(serve: Any) -> None:
    reply = serve().request(d.GET_NET_CONFIG, MAC, RIGHT, timeout=1)
    assert reply is not None and reply.head.ReplyMsg == 0 and reply.config_length_ok
    assert isinstance(reply.body, d.DeviceProbeNetConfig) and reply.body.NetworkInterfaceList[0].MAC == MAC
    SCHEMA.validate(reply.repaired)


@pytest.mark.parametrize("auth", [WRONG, None, d.Auth("root", "admin")], ids=["wrong", "missing", "unknown-user"])
def test_102_and_103_refuse_bad_credentials(serve: Any, camera: sim.FakeCamera, auth: d.Auth | None) -> None:
    transport = serve()
    for command, body in [(d.GET_NET_CONFIG, None), (d.SET_NET_CONFIG, _facts_body(d.DeviceProbeNetConfig))]:
        reply = transport.request(command, MAC, auth, body, timeout=1)
        assert reply is not None and reply.head.ReplyMsg == d.REPLY_AUTH_FAILED and reply.body is None
    assert camera.applied == []


def test_103_changes_what_102_and_probe_report(serve: Any, camera: sim.FakeCamera) -> None:
    transport = serve()
    facts = camera.discovery_facts()
    facts["interfaces"][0].update(IPAddress="10.1.2.3", Netmask="255.255.0.0", Gateway="10.1.0.1")
    reply = transport.request(d.SET_NET_CONFIG, MAC, RIGHT, d.body_from_dict(d.DeviceProbeNetConfig, facts), 1)
    assert reply is not None and reply.head.ReplyMsg == 0
    probe = transport.probe(timeout=0.3, mac=MAC)[0].fields()
    assert (probe["DeviceIP"], probe["DeviceMask"], probe["DeviceGateway"]) == ("10.1.2.3", "255.255.0.0", "10.1.0.1")


def test_101_applies_writable_fields_only(serve: Any, camera: sim.FakeCamera) -> None:
    transport = serve()
    body = d.DeviceProbeConfig(DeviceMac="11:11:11:11:11:11", HttpPort="8080", DeviceVersion="hacked")
    reply = transport.request(d.SET_DEVICE_CONFIG, MAC, RIGHT, body, 1)
    assert reply is not None and reply.head.ReplyMsg == 0
    facts = camera.discovery_facts()
    assert facts["HttpPort"] == "8080" and facts["DeviceMac"] == MAC and facts["DeviceVersion"] != "hacked"


def test_101_without_credentials_changes_nothing(serve: Any, camera: sim.FakeCamera) -> None:
    """ERRATA S4: 101 without <Auth> (as the spec's sample) is refused with ReplyMsg 2; nothing moves."""
    before = camera.discovery_facts()
    body = d.DeviceProbeConfig(DeviceIP="10.9.8.7", HttpPort="8080")
    reply = serve().request(d.SET_DEVICE_CONFIG, MAC, None, body, 1)
    assert reply is not None and reply.head.ReplyMsg == d.REPLY_AUTH_FAILED and camera.discovery_facts() == before


def test_101_with_invalid_address_fails_and_changes_nothing(serve: Any, camera: sim.FakeCamera) -> None:
    before = camera.discovery_facts()
    reply = serve().request(d.SET_DEVICE_CONFIG, MAC, None, d.DeviceProbeConfig(DeviceIP="300.1.1.1"), 1)
    assert reply is not None and reply.head.ReplyMsg != 0 and camera.discovery_facts() == before


def test_unknown_main_command_is_refused(serve: Any) -> None:
    reply = serve().request(104, MAC, RIGHT, timeout=1)
    assert reply is not None and reply.head.ReplyMsg == d.REPLY_UNSUPPORTED


def test_responder_ignores_replies_and_its_own_traffic(camera: sim.FakeCamera) -> None:
    responder = sim.DiscoveryResponder(camera)
    assert responder.handle(d.build_response(d.PROBE, MAC, 0)) is None
    assert responder.handle(d.build_request(d.PROBE, "").replace(b'CommandID="10"', b'CommandID="11"')) is None


# --------------------------------------------------------------------------- every fault changes what a client sees


def _probe(t: d.SocketTransport) -> d.Message:
    return t.probe(timeout=0.3, mac=MAC)[0]


FAULT_SYMPTOMS = {
    sim.CONFIG_LENGTH_WRONG: lambda t: not _probe(t).config_length_ok,
    sim.REPLY_COMMAND_ID_10: lambda t: _probe(t).head.CommandID == 10,
    sim.MAC_DISAGREES: lambda t: _probe(t).fields()["DeviceMac"] != MAC,
    sim.FIRMWARE_DISAGREES: lambda t: _probe(t).fields()["DeviceVersion"] != sim.FakeCamera().facts["DeviceVersion"],
    sim.AUTH_NOT_CHECKED: lambda t: t.request(d.GET_NET_CONFIG, MAC, WRONG, timeout=1).head.ReplyMsg == 0,
    sim.MAC_FILTER_IGNORED: lambda t: t.request(d.GET_NET_CONFIG, OTHER_MAC, RIGHT, timeout=0.5) is not None,
    sim.PROBE_IGNORED: lambda t: not t.probe(timeout=0.3) and t.probe(timeout=0.3, mac=MAC) != [],
    sim.REPLY_NOT_WELL_FORMED: lambda t: bool(_probe(t).deviations) and _probe(t).config_length_ok,
    sim.PORT_OUT_OF_RANGE: lambda t: not 1 <= int(_probe(t).fields()["ManagerHostPort"]) <= 65535,
    sim.NET_CONFIG_EMPTY: lambda t: not t.request(d.GET_NET_CONFIG, MAC, RIGHT, timeout=1).body.NetworkInterfaceList,
}


@pytest.mark.parametrize("fault", FAULT_SYMPTOMS)
def test_discovery_fault_is_visible(serve: Any, fault: str) -> None:
    assert not FAULT_SYMPTOMS[fault](serve()), "the conformant responder already shows the symptom"
    assert FAULT_SYMPTOMS[fault](serve(fault))


def test_every_discovery_fault_breaks_a_rule_the_discovery_suite_checks() -> None:
    from pytest_bview.testing.matrix import checks_of

    ours = {n: f for n, f in fault_registry.REGISTRY.items() if n.startswith(("discovery-", "ssdp-"))}
    assert set(ours) == {*FAULT_SYMPTOMS, sim.SSDP_NO_ANSWER}
    for f in ours.values():
        checks = checks_of(f)
        assert checks and all(
            c.startswith(("suites/test_discovery.py::test_", "suites/test_security")) for c in checks
        ), f


# --------------------------------------------------------------------------- SSDP


@pytest.fixture
def ssdp(loop: Loop, camera: sim.FakeCamera) -> Iterator[Any]:
    started: list[sim.SsdpResponder] = []

    def start(*faults: str) -> sim.SsdpResponder:
        r = sim.SsdpResponder(camera, "127.0.0.1", port=0, multicast=False, faults=sim.faults_from_names(faults))
        started.append(loop.run(r.start()))
        return r

    yield start
    for r in started:
        loop.run(r.stop())


@pytest.mark.parametrize(
    "st, count",
    [("ssdp:all", 3), ("upnp:rootdevice", 1), (d.UPNP_DEVICE_TYPE, 1), ("urn:schemas-upnp-org:device:Basic:2", 0),
     ("urn:schemas-upnp-org:service:Foo:1", 0)],
)  # fmt: skip
def test_msearch_unicast(ssdp: Any, st: str, count: int) -> None:
    """UDA 1.0 1.2.3: one 200 OK per matching target, with the required headers."""
    responder = ssdp()
    answers = d.ssdp_search(st, timeout=0.3, destination="127.0.0.1", port=responder.port)
    assert len(answers) == count
    for _, start, headers in answers:
        assert start == "HTTP/1.1 200 OK"
        assert {"CACHE-CONTROL", "LOCATION", "ST", "USN", "SERVER", "EXT"} <= set(headers)
        assert headers["USN"].startswith(sim.udn(MAC)) and headers["LOCATION"].endswith("/upnp/description.xml")


def test_msearch_by_uuid(ssdp: Any) -> None:
    answers = d.ssdp_search(sim.udn(MAC), timeout=0.3, destination="127.0.0.1", port=ssdp().port)
    assert [h["USN"] for _, _, h in answers] == [sim.udn(MAC)]


def test_ssdp_no_answer_fault(ssdp: Any) -> None:
    assert d.ssdp_search(timeout=0.3, destination="127.0.0.1", port=ssdp(sim.SSDP_NO_ANSWER).port) == []


def test_ssdp_multicast_notify_and_search(loop: Loop, camera: sim.FakeCamera) -> None:
    """Multicast on loopback: alive on start, an M-SEARCH to the group is answered, byebye on stop."""
    listener = d.multicast_socket(0, d.SSDP_GROUP, "127.0.0.1")
    port = listener.getsockname()[1]
    listener.settimeout(1)
    responder = sim.SsdpResponder(camera, "127.0.0.1", port=port, multicast=True)
    loop.run(responder.start())
    try:
        notes = [d.parse_ssdp(listener.recv(2048))[1] for _ in range(3)]
        assert {n["NTS"] for n in notes} == {"ssdp:alive"} and {n["NT"] for n in notes} == {
            t for t, _ in responder.targets()
        }
        answers = d.ssdp_search("upnp:rootdevice", timeout=0.3, port=port, interface="127.0.0.1")
        assert [h["ST"] for _, _, h in answers] == ["upnp:rootdevice"]
    finally:
        loop.run(responder.stop())
    byes = []
    deadline = time.monotonic() + 1
    while len(byes) < 3 and time.monotonic() < deadline:
        _, h = d.parse_ssdp(listener.recv(2048))
        if h.get("NTS") == "ssdp:byebye":
            byes.append(h)
    listener.close()
    assert len(byes) == 3


def test_description_xml(camera: sim.FakeCamera) -> None:
    root = ElementTree.fromstring(sim.description_xml(camera))
    ns = {"u": "urn:schemas-upnp-org:device-1-0"}
    dev = root.find("u:device", ns)
    assert dev.findtext("u:deviceType", namespaces=ns) == d.UPNP_DEVICE_TYPE
    assert dev.findtext("u:friendlyName", namespaces=ns) == camera.upnp_facts()["DeviceName"]
    assert dev.findtext("u:UDN", namespaces=ns) == sim.udn(MAC)
    assert dev.findtext("u:presentationURL", namespaces=ns) == "http://127.0.0.1:80/upnp/"
    assert dev.find("u:serviceList", ns) is not None  # UDA 1.0 2.3 (empty: no services)


# --------------------------------------------------------------------------- fuzz: garbage never crashes, never changes

_TAGS = ["Request", "Response", "Head", "CfgInfo", "Auth", "DeviceProbeConfig", "DeviceProbeNetConfig",
         "NetworkInterfaceList", "NetworkInterface", "DeviceIP", "HttpPort", "DeviceMask", "UlkUID", "x"]  # fmt: skip
_pieces = st.one_of(
    st.sampled_from(_TAGS).map(lambda t: f"<{t}>"),
    st.sampled_from(_TAGS).map(lambda t: f"</{t}>"),
    st.sampled_from(_TAGS).map(lambda t: f"<{t} />"),
    st.sampled_from(
        [
            '<Head Version="1.0.0" CommandID="10" ConfigLength="9"/>',
            f'<CfgInfo MainCommand="103" DeviceMac="{MAC}"/>',
            '<Auth UserName="admin" UserPassword="admin"/>',
            "<!--",
            "-->",
            "&amp;",
            "&#99999999;",
            "&#0;",
            "&#xD800;",
            "&#x110000;",
            "<?xml",
            "?>",
            "<!DOCTYPE",
            '"',
            "<",
            ">",
        ]
    ),  # fmt: skip
    st.text(max_size=8),
)
datagrams = st.one_of(
    st.binary(max_size=300),
    st.lists(_pieces, max_size=40).map(lambda xs: "".join(xs).encode("utf-8", "surrogatepass")),
    st.sampled_from([s.encode() for s in SPEC_SAMPLES.values()]).flatmap(
        lambda s: st.tuples(st.integers(0, len(s)), st.binary(max_size=20)).map(lambda c: s[: c[0]] + c[1])
    ),
)
FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(datagrams)
def test_fuzz_reader_never_crashes(data: bytes) -> None:
    try:
        msg = d.parse_message(data)
    except d.ParseError:
        return
    ElementTree.fromstring(msg.repaired)  # whatever it reads, the repair is well-formed XML


@FUZZ
@given(datagrams)
def test_fuzz_responder_never_crashes_never_changes_state(data: bytes) -> None:
    camera = sim.FakeCamera(mac=MAC)
    before = camera.discovery_facts()
    out = sim.DiscoveryResponder(camera).handle(data, ("127.0.0.1", 1))
    if out is not None:
        assert d.parse_message(out).config_length_ok
    assert camera.discovery_facts() == before or camera.applied  # only a valid, authenticated set applies


def test_fuzz_over_the_socket(serve: Any, camera: sim.FakeCamera) -> None:
    """Garbage through the real socket path leaves the responder answering."""
    transport = serve()
    for data in [b"", b"\xff" * 100, b"<Request>" * 500, SPEC_SAMPLES["103 request"].encode()[:77]]:
        transport.send_raw(data, timeout=0.05)
    assert transport.probe(timeout=0.5, mac=MAC)
