"""Every XML block of chapters 7 and 9 of the B-View 2 spec, declared with the DSL of `model.py`.

Rule 1: one declaration per block, at the line of the spec where its sample starts; a block that
        embeds another (DDNS embeds Config, Image embeds Color, ...) reuses the other block's
        root `Field` (renamed or made optional with `dataclasses.replace`), never a copy.
Rule 2: element names are the spec's opening tags, typos included where the spec spells them
        consistently (`ResolutionHeigth`, `LocalMobllePort`, `keyList`): real devices copy the spec.
        Every place where the spec contradicts itself is decided once and listed in schemas/ERRATA.md.
Rule 3: an element without any annotation is required; a list item (`repeated`) is optional.
Rule 4: enumeration values with an obvious typo accept the spec's spelling and the corrected one
        (`Adminstrator`/`Administrator`, `SHRED`/`SHARED`); the reference camera emits the spec's.
"""

from __future__ import annotations

from dataclasses import replace

from pytest_bview.spec.model import (
    Access,
    Block,
    BlockTable,
    Field,
    Presence,
    boolean,
    datetime,
    enum,
    integer,
    repeated,
    string,
    struct,
    time,
)

BLOCKS = BlockTable()


def _block(name: str, section: str, line: int, root: Field, doc: str = "") -> Field:
    """Register a block and hand back its root, so composite blocks can embed it."""
    BLOCKS.add(Block(name, root, section, line, doc))
    return root


def _embed(
    root: Field, name: str | None = None, presence: Presence | None = None, access: Access | None = None
) -> Field:
    """A block's root reused inside another block (renamed, or with another presence/access)."""
    return replace(
        root,
        name=name or root.name,
        presence=presence or root.presence,
        access=access or root.access,
    )


def _choice(name: str, values: tuple[str, ...], presence: Presence = "req", access: Access = "rw") -> Field:
    """An enumeration whose values contain spaces ("not connect"), which `enum()` would split."""
    return Field(name, "enum", presence, access, values=values)


def _opaque(name: str, doc: str) -> Field:
    """An element the spec names but never defines: optional, content not checked, ignored on input."""
    return Field(name, "struct", "opt", "ro", doc=doc)


# -- grammar constants -------------------------------------------------------------------------
# TCP/UDP port numbers (RFC 793 16-bit port field); the spec only says xs:integer
PORT = (1, 65535)
# "A day is divided into 48 blocks of 30 minutes which can be either active (1) or inactive (0)" (9.1.3, 9.7.1.3.2)
DAY_BLOCKS = "[01]{48}"
# "<WeekDayMask>: mask format "0000000" for the week starting on Sunday" (9.2.4 DeviceAutoMaintenance)
WEEKDAY_MASK = "[01]{7}"
# MotionRegionListV2 sample: 12 rows RegionX_0..RegionX_11 of "00000000000000" (14 cells each) (9.7.1.3)
MOTION_ROWS = 12
MOTION_COLUMNS = 14
# "Valid values for <TransferContentTypeMask>: "00" disable "01" ... "10" ... "11" ..." (9.1.6)
FTP_CONTENT_MASK = "00|01|10|11"
# "<WeekModeStart> and <WeekModeStop>: the format is "month-week-day-hour-minute-second" in numbers" (9.2.3)
WEEK_MODE = r"(0?[1-9]|1[0-2])-[1-5]-[0-7]-([01]?[0-9]|2[0-3])-[0-5]?[0-9]-[0-5]?[0-9]"
# "TimeZone: time zones are defined by POSIX 1003.1 section 8.3" (9.2.2): std offset [dst [offset] [,rule,rule]]
_TZ_NAME = r"([A-Za-z]{3,}|<[A-Za-z0-9+\-]{3,}>)"
_TZ_OFFSET = r"[+\-]?[0-9]{1,2}(:[0-9]{2}){0,2}"
_TZ_RULE = r"(M[0-9]{1,2}\.[1-5]\.[0-6]|J[0-9]{1,3}|[0-9]{1,3})(/" + _TZ_OFFSET + ")?"
POSIX_TZ = f"{_TZ_NAME}{_TZ_OFFSET}({_TZ_NAME}({_TZ_OFFSET})?(,{_TZ_RULE},{_TZ_RULE})?)?"
# IPAddress carries "ipVersion ... V4" only: addresses and masks are IPv4 dotted quads
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4 = rf"{_OCTET}(\.{_OCTET}){{3}}"
IPV4_OR_EMPTY = f"({IPV4})?"
# MAC-48 as devices print it, with colons or dashes
MAC = r"[0-9A-Fa-f]{2}([:\-][0-9A-Fa-f]{2}){5}"
# "Base 64 encoded ... string" (9.1.7.1.3, 9.13.1, 9.13.2); empty = not set
BASE64 = r"([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
# WPA passphrase: "the length of the string is 8-63", KeyType "ASCII" (printable, IEEE 802.11i);
# empty when the WPA section is inactive ("Inactive sections will be shown in any case")
WPA_PASSPHRASE = "([ -~]{8,63})?"


# == chapter 7 ================================================================================

_block(
    "ResponseStatus",
    "7",
    390,
    struct(
        "ResponseStatus",
        string("requestURL", access="ro"),
        integer("statusCode", access="ro"),
    ),
    "The answer to every PUT/POST/DELETE and to every failed request.",
)

# == 9.1 /Network =============================================================================

SERVER_LIST = _block(
    "ServerList",
    "9.1.1.1",
    515,
    struct("ServerList", repeated(struct("Server", string("ServerName")))),
    "DDNS providers; <DDNS>/<Config>/<ProtocolName> must be one of them.",
)

DDNS_CONFIG = _block(
    "DDNSConfig",
    "9.1.1.2",
    543,
    struct(
        "Config",
        boolean("Enable"),
        string("ProtocolName", doc="one of the <ServerName>s of the ServerList"),
        integer("ServerPort", 0, 0, doc="currently not supported and must be 0"),
        string("DomainName"),
        string("UserName"),
        string("Password", access="wo"),
        integer("RefreshIntervals", doc="in seconds"),
    ),
)

DDNS_STATUS = _block(
    "DDNSStatus",
    "9.1.1.3",
    572,
    struct("Status", enum("State", "stopped,Registering,Registered,stopping", access="ro")),
)

DDNS = _block(
    "DDNS",
    "9.1.1",
    494,
    struct(
        "DDNS",
        # GET-only resources embedded in a PUT-able block: read-only here
        _embed(SERVER_LIST, presence="opt", access="ro"),
        DDNS_CONFIG,
        _embed(DDNS_STATUS, presence="opt", access="ro"),
    ),
)

UPNP_CONFIG = _block(
    "UPNPConfig",
    "9.1.2.1",
    625,
    struct(
        "Config",
        boolean("Enable"),
        string("WanIPAddress"),
        # 0 allowed: a mapping that is not set up
        integer("LocalHTTPPort", 0, 65535),
        integer("ExportHTTPPort", 0, 65535),
        integer("LocalMobllePort", 0, 65535),
        integer("ExportMobllePort", 0, 65535),
        integer("LocalCommandPort", 0, 65535),
        integer("ExportCommandPort", 0, 65535),
        integer("LocalMediaPort", 0, 65535),
        integer("ExportMediaPort", 0, 65535),
    ),
)

_PORT_STATE = "success,failed,mapping"
UPNP_STATUS = _block(
    "UPNPStatus",
    "9.1.2.2",
    653,
    struct(
        "Status",
        enum("HTTPPortState", _PORT_STATE, access="ro"),
        enum("MobliePortState", _PORT_STATE, access="ro"),
        enum("CommandPortState", _PORT_STATE, access="ro"),
        enum("MediaPortState", _PORT_STATE, access="ro"),
    ),
)

UPNP = _block(
    "UPNP",
    "9.1.2",
    599,
    struct("UPNP", UPNP_CONFIG, _embed(UPNP_STATUS, presence="opt", access="ro")),
)

EMAIL = _block(
    "Email",
    "9.1.3",
    682,
    struct(
        "Email",
        boolean("Enable"),
        string("SMTPServer"),
        string("SMTPPort", pattern="[0-9]{1,5}", doc="xs:string in the spec; a port number"),
        enum("SMTPAuthMethod", "None,Login"),
        struct("SMTPTLSConfig", enum("SMTPTLS", "off,on")),
        string("SenderEmailAddress"),
        # "The <SenderEmailPassword> content will not be retrieved by the GET command"
        string("SenderEmailPassword", presence="opt", access="wo"),
        struct("ReceiverList", repeated(struct("Receiver", integer("ID"), string("EmailAddress")))),
        boolean("AttachedSnapshot"),
        integer("RefreshIntervals", doc="in seconds"),
        struct(
            "Schedule",
            boolean("AllDay"),
            struct("TimeBlockList", *(string(f"TimeBlock_{d}", pattern=DAY_BLOCKS) for d in range(7))),
            presence="opt",
        ),
    ),
)

PORT_BLOCK = _block(
    "Port",
    "9.1.4",
    737,
    struct(
        "Port",
        integer("HTTP", *PORT),
        integer("Command", *PORT),
        integer("Media", *PORT),
        integer("Mobile", *PORT),
        integer("RTP", *PORT),
        integer("Discovery", *PORT),
    ),
    "The device restarts after saving.",
)

P2P = _block(
    "P2P",
    "9.1.5",
    767,
    struct(
        "P2P",
        boolean("Enable"),
        string("UUID"),
        enum("Status", "offline,internet-ready,intranet-ready", presence="opt", access="ro"),
    ),
    "The device restarts after saving.",
)

_block(
    "FTP",
    "9.1.6",
    793,
    struct(
        "FTP",
        boolean("Enable"),
        string("UserName"),
        string("Password", presence="opt", access="wo"),
        string("IPAddress"),
        integer("Port", *PORT),
        string("TransferContentTypeMask", pattern=FTP_CONTENT_MASK),
        string("StorageDirectory"),
        _choice("Status", ("not connect", "connected"), presence="opt", access="ro"),
    ),
)

DHCP = _block(
    "DHCP",
    "9.1.7.1.1.1",
    909,
    struct(
        "DHCP",
        boolean("Enable"),
        enum("Status", "initializing,obtaining,obtained", presence="opt", access="ro"),
    ),
)

DNS = _block(
    "DNS",
    "9.1.7.1.1.2",
    936,
    struct(
        "DNS",
        boolean("Enable"),
        string("PrimaryDNS", pattern=IPV4_OR_EMPTY),
        string("SecondaryDNS", pattern=IPV4_OR_EMPTY),
    ),
)

IP_ADDRESS = _block(
    "IPAddress",
    "9.1.7.1.1",
    876,
    struct(
        "IPAddress",
        enum("ipVersion", "V4", presence="opt", access="ro"),
        string("ipAddress", pattern=IPV4),
        string("MacAddress", presence="opt", access="ro", pattern=MAC),
        string("SubnetMask", pattern=IPV4),
        string("Gateway", pattern=IPV4),
        DHCP,
        DNS,
    ),
)

INTERFACE = _block(
    "Interface",
    "9.1.7.1",
    849,
    struct("Interface", integer("ID", 1), IP_ADDRESS),
    "NetworkCardID 1 is the wired interface, 2 the wireless one; both have this shape.",
)

INTERFACE_LIST = _block("InterfaceList", "9.1.7", 825, struct("InterfaceList", repeated(INTERFACE)))

_block(
    "WiFiAccessPointList",
    "9.1.7.1.2",
    967,
    struct(
        "WiFiAccessPointList",
        repeated(
            struct(
                "AccessPoint",
                integer("ID", access="ro"),
                string("SSID", access="ro"),
                string("MACAddress", access="ro"),
                integer("SignalValue", 0, 100, access="ro"),
                enum("Authentication", "None,shared,WPAPSK,WPA2PSK,WPA,WPA2", access="ro"),
                enum("EncryptType", "NONE,WEP,TKIP,AES", access="ro"),
                integer("WirelessMode", 1, 9, access="ro", doc="1 11B, 2 11A, 3 11a/b/g, ... 9 11BGN mixed"),
            )
        ),
    ),
)

_ENCRYPT = "NONE,WEP,TKIP,AES"
_block(
    "ConnectionConfig",
    "9.1.7.1.3",
    1013,
    struct(
        "ConnectionConfig",
        integer("Enable", 0, 1, doc='"disconnected,connected": 0 disconnected, 1 connected'),
        string("SSID"),
        string("MACAddress", access="ro"),
        enum("NetworkType", "managed,Ad-hoc"),
        enum("AuthMode", "OPEN,SHRED,SHARED,WEPAUTO,WPAPSK,WPA2PSK,WPANONE,WPA,WPA2,NOPASSWORD"),
        struct(
            "WEP",
            integer("KeyID", 1, 4),
            struct(
                "keyList",
                repeated(
                    struct(
                        "Key",
                        integer("ID", 1, 4),
                        enum("KeyType", "HEX,ASCII"),
                        string("KeyValue", presence="opt"),
                        # "The use of <KeyValue> and <KeyValueB64> is alternative"
                        string("KeyValueB64", presence="dep", pattern=BASE64),
                    ),
                    max_occurs=4,
                ),
            ),
            presence="dep",
            doc="applies when <AuthMode> is OPEN or SHARED",
        ),
        struct(
            "WPA",
            enum("EncryptType", _ENCRYPT),
            struct(
                "Key",
                integer("ID", presence="opt", doc="only in the example of 9.1.8"),
                enum("KeyType", "ASCII"),
                string("KeyValue", presence="dep", pattern=WPA_PASSPHRASE),
                string("KeyValueB64", presence="dep", pattern=BASE64),
            ),
            presence="dep",
            doc="applies when <AuthMode> is WPAPSK or WPA2PSK",
        ),
    ),
    "Also the inbound block of PUT /Network/WifiParamTest (9.1.8, line 1079).",
)

_block(
    "WIFIStatus",
    "9.1.7.1.4",
    1059,
    struct("WIFIStatus", enum("State", "open,close,notsupport", access="ro")),
)

_block(
    "WIFIStatusForTest",
    "9.1.9",
    1165,
    struct("WIFIStatusForTest", enum("Status", "disconnect,connected", access="ro")),
)

_block(
    "Network",
    "9.1",
    462,
    struct(
        "Network",
        _opaque("PPPOE", "named by the spec (9.1) but never defined"),
        _embed(DDNS, presence="opt"),
        _embed(UPNP, presence="opt"),
        _embed(EMAIL, name="EMail", presence="opt"),
        _embed(PORT_BLOCK, presence="opt"),
        _embed(P2P, presence="opt"),
        _embed(INTERFACE_LIST, name="Interfaces", presence="opt"),
    ),
)

# == 9.2 /System ==============================================================================

_block(
    "Time",
    "9.2.1",
    1196,
    struct(
        "Time",
        enum(
            "DateTimeFormat",
            "YYYYMMDDWhhmmss,YYYYMMDDhhmmss,MMDDYYYYWhhmmss,MMDDYYYYhhmmss,DDMMYYYYWhhmmss,DDMMYYYYhhmmss",
        ),
        enum("TimeFormat", "12hour,24hour"),
        datetime("SystemTime", doc='ISO 8601, e.g. "20040503T173008+08"'),
    ),
)

_block(
    "NTP",
    "9.2.2",
    1228,
    struct(
        "NTP",
        boolean("Enable"),
        string("ServerName", doc='e.g. "time.windows.com"'),
        string("TimeZone", pattern=POSIX_TZ, doc='POSIX 1003.1 8.3, e.g. "CST-9:00:00"'),
    ),
)

_block(
    "DST",
    "9.2.3",
    1261,
    struct(
        "DST",
        boolean("Enable"),
        enum("Mode", "date,week"),
        string("TimeDifference", pattern="[+-]?[0-9]+", doc="in seconds"),
        datetime("DateModeStart"),
        datetime("DateModeStop"),
        string("WeekModeStart", pattern=WEEK_MODE, doc='month-week-day-hour-minute-second, e.g. "3-1-1-2-3-6"'),
        string("WeekModeStop", pattern=WEEK_MODE, doc='month-week-day-hour-minute-second, e.g. "2-4-5-7-8-8"'),
    ),
)

_block(
    "DeviceInfo",
    "9.2.4",
    1292,
    struct(
        "DeviceInfo",
        string("DeviceName"),
        integer("BoardType", access="ro"),
        string("DeviceTypeName", access="ro"),
        string("SerialNum", access="ro"),
        string("HardWareVersion", access="ro"),
        string("SoftWareVersion", access="ro"),
        integer("VideoInputChannels", 0, access="ro"),
        integer("AudioChannels", 0, access="ro"),
        integer("AlarmInputChannels", 0, access="ro"),
        integer("AlarmOutputChannels", 0, access="ro"),
        integer("MonitorCount", 0, access="ro"),
        integer("SpotOutChannels", 0, access="ro"),
        boolean("TwoWayAudio", access="ro"),
    ),
    "Only <DeviceName> can be set.",
)

DEVICE_STATUS = _block(
    "DeviceStatus",
    "9.2.5.1",
    1352,
    struct(
        "DeviceStatus",
        integer("ID", 1),
        integer("MainStreamVideoBitrate", 0, access="ro"),
        boolean("FirstSubStreamEnable", access="ro"),
        integer("FirstSubStreamVideoBitrate", 0, access="ro"),
        boolean("SecondSubStreamEnable", access="ro"),
        integer("SecondSubStreamVideoBitrate", 0, access="ro"),
        enum("RecordState", "none,alarm,normal,manual,motion", access="ro"),
        boolean("VideoLostState", access="ro"),
        boolean("MotionState", access="ro"),
        boolean("AlarmInState", access="ro"),
        boolean("AlarmOutState", access="ro"),
    ),
)

_block("DeviceStatusList", "9.2.5", 1329, struct("DeviceStatusList", repeated(DEVICE_STATUS)))

_block(
    "LogList",
    "9.2.10",
    1487,
    struct(
        "LogList",
        repeated(
            struct(
                "Log",
                integer("ID"),
                datetime("time"),
                integer("majorType", 1, 8),
                integer("minorType", 0),
                string("netUser"),
                string("hostIPAddress"),
                integer("channel"),
            ),
            # "The device supports up to 1000 log entries."
            max_occurs=1000,
        ),
    ),
)

USER = _block(
    "User",
    "9.2.12",
    1535,
    struct(
        "User",
        # POST (add) and PUT send <ID/> empty (second 9.2.1, /System/Users/1): digits or empty
        string("ID", pattern="[0-9]*", doc="user ID; N = ID + 1; empty in POST and PUT"),
        string("UserName"),
        string("Password", access="wo"),
        # PUT sends <UserLevel/> empty
        _choice("UserLevel", ("Default", "Adminstrator", "Administrator", "Normal", "")),
        string("IPAddress", presence="opt", access="ro"),
        string("MACAddress", presence="opt", access="ro"),
    ),
    "GET sample at line 1535; PUT/POST/DELETE sample at line 1570 (second 9.2.1 /System/Users/1).",
)

_block("UserList", "9.2.11", 1514, struct("UserList", repeated(USER)))

_block(
    "AutoMaintenance",
    "9.2.4 DeviceAutoMaintenance",
    1629,
    struct(
        "AutoMaintenance",
        boolean("Enable"),
        enum("Mode", "everyweek,everyday,once"),
        string("WeekDayMask", pattern=WEEKDAY_MASK, doc="Sunday first; applies to everyweek"),
        datetime("MaintenanceTime", doc='e.g. "20040503T173008"'),
    ),
)

# == 9.4 /Streams =============================================================================


def _capability(name: str, id_access: Access, height: str) -> Field:
    """One resolution/frame-rate pair of the capability tree (ResolutionHeight spelled per place)."""
    return struct(
        name,
        integer("ID", access=id_access),
        integer("ResolutionWidth", 1, presence="opt", access="ro"),
        integer(height, 1, presence="opt", access="ro"),
        integer("MaxFrameRate", 1, access="ro", doc="frame rate x100 like StreamConfig <FrameRate>"),
        access="ro",
    )


_SUB_CAPABILITY = repeated(_capability("StreamCapability", "ro", "ResolutionHeigth"))
_MAIN_CAPABILITY = _capability("MainStreamCapability", "rw", "ResolutionHeight")
STREAM_CAPABILITY = _block(
    "StreamCapability",
    "9.4.1.1",
    1723,
    struct(
        "StreamCapability",
        integer("ID", 1, doc="the channel"),
        struct(
            "MainStreamCapabilityList",
            repeated(
                replace(
                    _MAIN_CAPABILITY,
                    children=_MAIN_CAPABILITY.children
                    + (
                        struct("SubStreamCapabilityList", _SUB_CAPABILITY, access="ro"),
                        struct("SecondStreamCapabilityList", _SUB_CAPABILITY, access="ro"),
                    ),
                )
            ),
            access="ro",
        ),
    ),
)

TRANSPORT = _block(
    "Transport",
    "9.4.1.2.1",
    1820,
    struct("Transport", string("RTSPURI", access="ro")),
)

STREAM_CONFIG = _block(
    "StreamConfig",
    "9.4.1.2",
    1786,
    struct(
        "StreamConfig",
        integer("ID", 1, 4, doc="1 main, 2 first sub-stream, 3 second sub-stream, 4 MJPEG"),
        enum("StreamType", "Video,VideoAndAudio"),
        enum("VideoCodecType", "H.264", presence="opt", access="ro"),
        integer("ResolutionWidth", 1),
        integer("ResolutionHeigth", 1),
        # per-stream ranges (chapter 8) are cross-field rules, see spec/streams.py
        integer("FrameRate", 1, doc="frame rate x100; 25500 = full frame rate"),
        enum("BitrateType", "CBR,VBR,SmartAVC"),
        integer("Bitrate", 1, presence="opt", doc="in kbps"),
        integer("FixedQuality", 0, 5, doc="the smaller, the higher the quality"),
        integer("keyFrameInterval", presence="opt", doc="not supported"),
        _embed(TRANSPORT, presence="opt", access="ro"),
    ),
)

STREAM = _block(
    "Stream",
    "9.4.1",
    1694,
    struct(
        "Stream",
        integer("ID", 1, presence="opt"),
        _embed(STREAM_CAPABILITY, presence="opt", access="ro"),
        struct("StreamConfigList", repeated(STREAM_CONFIG)),
    ),
)

_block("StreamList", "9.4", 1669, struct("StreamList", repeated(STREAM)))

# == 9.6 /Images ==============================================================================

SCENE = _block(
    "Scene",
    "9.6.1.1",
    1929,
    struct("Scene", boolean("Support", access="ro"), enum("Mode", "standard,soft,vivid,custom")),
)

_LEVELS = "close,weak,normal,strong"
BASIC = _block(
    "Basic",
    "9.6.1.2",
    1955,
    struct(
        "Basic",
        enum("powerLineFrequencyMode", "50HZ,60HZ"),
        enum("NoiseReduce", _LEVELS),
        enum("BLC", "close,open,notsupport"),
        enum("WDR", _LEVELS),
        enum("FlipMode", "close,leftright,updown,center,notsupport"),
    ),
)

COLOR = _block(
    "Color",
    "9.6.1.3",
    1986,
    struct(
        "Color",
        enum("Mode", "auto,manual,notsupport"),
        integer("Brightness", 0, 100),
        integer("Contrast", 0, 100),
        integer("Saturation", 0, 100),
        integer("Hue", 0, 100),
        integer("Sharpness", 0, 100),
    ),
)

EXPOSURE = _block(
    "Exposure",
    "9.6.1.4",
    2015,
    struct(
        "Exposure",
        enum("IrisType", "manual,DC-Iris"),
        enum(
            "shutter",
            "auto,1/1,1/3,1/8,1/12,1/15,1/25,1/30,1/50,1/60,1/100,1/120,1/240,1/480,1/960,1/1000,"
            "1/2000,1/4000,1/8000,1/10000",
        ),
        enum("Gain", "auto,6dB,12dB,18dB,24dB,30dB,36dB,42dB"),
    ),
)

WHITE_BALANCE = _block(
    "WhiteBalance",
    "9.6.1.5",
    2054,
    struct(
        "WhiteBalance",
        enum("Mode", "auto,incandescent,warm,fluorescent,natural,manual,locked"),
        integer("GainRed", 0, 100, presence="dep", doc='applies when <Mode> is "manual"'),
        integer("GainBlue", 0, 100, presence="dep", doc='applies when <Mode> is "manual"'),
    ),
)

IR_CUT_FILTER = _block(
    "IrCutFilter",
    "9.6.1.6",
    2085,
    struct(
        "IrCutFilter",
        enum("Mode", "initiative,passivity,day,night,time"),
        time("DayStartTime", presence="dep", doc='applies when <Mode> is "time"'),
        time("DayEndTime", presence="dep", doc='applies when <Mode> is "time"'),
        integer("Sensitivity", 0, 100, presence="dep", doc="the greater, the more sensitive"),
        integer("SwitchTime", 3, 15, presence="dep", doc="in seconds"),
    ),
)

IMAGE = _block(
    "Image",
    "9.6.1",
    1892,
    struct(
        "Image",
        integer("ID", 1),
        *(_embed(part, presence="opt") for part in (SCENE, BASIC, COLOR, EXPOSURE, WHITE_BALANCE, IR_CUT_FILTER)),
    ),
)

_block("ImageList", "9.6", 1867, struct("ImageList", repeated(IMAGE)))

# == 9.7 /Pictures ============================================================================


def _position(*extra: Field) -> tuple[Field, ...]:
    """Enable and an on-screen position in the 704x576 (D1) OSD coordinate space."""
    return (boolean("Enable"), integer("PosX", 0, 703), integer("PosY", 0, 575), *extra)


OSD = _block(
    "OSD",
    "9.7.1.1",
    2180,
    struct(
        "OSD",
        struct("DisplayTime", *_position()),
        struct("DisplayName", *_position(string("Name", doc="in Unicode"))),
    ),
    "Make sure time and name do not overlap.",
)

MOTION_REGIONS = _block(
    "MotionRegionListV2",
    "9.7.1.3",
    2244,
    struct(
        "MotionRegionListV2",
        *(string(f"RegionX_{row}", pattern=f"[01]{{{MOTION_COLUMNS}}}") for row in range(MOTION_ROWS)),
    ),
    f"{MOTION_ROWS} rows of {MOTION_COLUMNS} cells, 1 = detect motion in the cell.",
)


def _action(name: str, *extra: Field) -> Field:
    return struct(name, boolean("Enable"), *extra)


# "<AlarmOutMask>, <SnapshotMask>, <RecordMask> and <PTZActionList> are not applicable"
_MASK = "[01]*"
TRIGGER = _block(
    "Trigger",
    "9.7.1.3.1",
    2282,
    struct(
        "Trigger",
        _action("NotifyAMS"),
        _action("BeepAlert"),
        _action("FullScreen"),
        _action("Mail"),
        _action("AlarmOut", string("AlarmOutMask", pattern=_MASK)),
        _action("Snapshot", string("SnapshotMask", pattern=_MASK)),
        _action("Record", string("RecordMask", pattern=_MASK)),
        _action(
            "PTZ",
            string("ptzChannelID"),
            enum("ActionName", "none,preset,pattern,patrol"),
            integer("ActionNum", 0, doc="depends on <ActionName>"),
        ),
    ),
)

SCHEDULE = _block(
    "Schedule",
    "9.7.1.3.2",
    2338,
    struct(
        "Schedule",
        boolean("AllDay"),
        struct("TimeBlock", *(string(f"Block_{d}", pattern=DAY_BLOCKS) for d in range(7))),
    ),
    "Block_0 is Sunday ... Block_6 Saturday; 48 half hours each.",
)

MOTION = _block(
    "Motion",
    "9.7.1.2",
    2215,
    struct(
        "Motion",
        boolean("Enable"),
        enum("Sensitive", "low,middle,high"),
        _embed(TRIGGER, presence="opt"),
        _embed(SCHEDULE, presence="opt"),
        _embed(MOTION_REGIONS, presence="opt"),
    ),
)

MOSAIC = _block(
    "Mosaic",
    "9.7.1.4",
    2374,
    struct(
        "Mosaic",
        boolean("Enable"),
        struct(
            "MosaicRegionList",
            repeated(
                struct(
                    "Region",
                    integer("ID", 1, 4),
                    integer("TopLeftX", 0, 703),
                    integer("TopLeftY", 0, 575),
                    integer("BottomRightX", 0, 703),
                    integer("BottomRightY", 0, 575),
                ),
                # "4 masks with ID 1..4 are supported."
                max_occurs=4,
            ),
        ),
    ),
)

PICTURE = _block(
    "Picture",
    "9.7.1",
    2144,
    struct(
        "Picture",
        integer("ID", 1),
        OSD,
        _opaque("VideoLost", "named by the spec (9.7.1) but never defined and without a resource"),
        MOTION,
        MOSAIC,
    ),
)

_block("PictureList", "9.7", 2119, struct("PictureList", repeated(PICTURE)))

# == 9.8 /TwowayAudio =========================================================================

_block("TwoWayAudio", "9.8.1", 2403, struct("TwoWayAudio", enum("VoiceMode", "G726,G711U,G711A")))

# == 9.9 /EventsNotification ==================================================================

_block(
    "SubscribedEventTypeList",
    "9.9.1",
    2497,
    struct(
        "SubscribedEventTypeList",
        repeated(
            struct(
                "SubscribedEventType",
                integer("ID"),
                enum("EventType", "VMD,videolost,AlarmIn"),
                string("EventTypeDescription"),
            )
        ),
    ),
)

_block(
    "EventList",
    "9.9.2",
    2520,
    struct(
        "EventList",
        repeated(
            struct(
                "Event",
                string("ID"),
                string("IPAddress"),
                integer("Port", *PORT),
                string("Protocol"),
                string("ChannelID"),
                datetime("DateTime"),
                string("EventType"),
                string("EventDescription"),
            )
        ),
    ),
)

# == 9.10 /Record =============================================================================

_block(
    "Record",
    "9.10",
    2554,
    struct(
        "Record",
        enum("RecordWriteCircleType", "fullnotwrite,writecircle"),
        enum("RecordDeleteType", "24,48,none"),
        enum("RecordStreamType", "main,sub"),
        integer("PreRecord", 1, 120, presence="opt", doc="in seconds"),
        integer("DelayRecord", 1, 120, presence="opt", doc="in seconds"),
    ),
)

_block("HttpEventConfig", "9.10.1", 2585, struct("HttpEventConfig", boolean("Enable")))

_block(
    "URL",
    "9.10.3",
    2623,
    struct(
        "URL",
        enum("Protocol", "HTTP"),
        string("Host", doc='e.g. "192.168.1.11"'),
        integer("Port", *PORT),
        string("Path", doc='e.g. "/myevent.php"'),
    ),
)

# == 9.11 /Disk ===============================================================================

_block(
    "DiskList",
    "9.11",
    2661,
    struct(
        "DiskList",
        repeated(
            struct(
                "Disk",
                integer("DiskID", 0, access="ro"),
                integer("TotalCapacity", 0, access="ro", doc="in MB"),
                integer("AvailableCapacity", 0, access="ro", doc="in MB"),
                enum("DiskStorageType", "SD,samba", access="ro"),
                enum(
                    "DiskStorageAttribute",
                    "idle,writing,reading,diskexception,diskerror,readonly,readwrite",
                    access="ro",
                ),
                integer("PictureCapacityPercent", 0, 100),
                integer("RecordCapacityPercent", 0, 100),
                _choice(
                    "DiskFormatStatus",
                    ("unformatted", "formatting", "formatted", "format failure", "formatfailure"),
                    access="ro",
                ),
            )
        ),
    ),
    "The PUT method is currently not supported.",
)

# == 9.13 /Alarm ==============================================================================

_block(
    "AMS",
    "9.13.1",
    2751,
    struct(
        "AMS",
        enum("Enable", "true,false"),
        string("ServerName", doc='"motionEvent"'),
        string("UserName", presence="opt"),
        string("Password", presence="opt"),
        string("ServerURL", pattern=BASE64, doc="Base 64 encoded server IP address"),
    ),
)


def _event_cfg(name: str) -> Field:
    return struct(
        name,
        integer("PreRecordTime", 0, presence="opt"),
        integer("AlarmInterval", 0, doc="event repetition time in seconds (default 300)"),
        string("Message", pattern=BASE64, doc="Base 64 encoded server path"),
    )


_block("EventCfgList", "9.13.2", 2781, struct("EventCfgList", _event_cfg("motion"), _event_cfg("http")))


# == credentials ===============================================================================


def _secret_elements() -> frozenset[str]:
    """Elements whose value is a credential: every write-only string (6.1.2 "wo": the passwords) and those the
    spec leaves readable that hold one all the same (AMS Password, the WiFi KeyValue/KeyValueB64 of 9.1.7.1.3).
    The kit redacts their values wherever it shows evidence (client.py, Rule 2)."""
    names: set[str] = set()

    def walk(field: Field) -> None:
        for child in field.children:
            if child.kind == "str" and (child.access == "wo" or "Password" in child.name or "KeyValue" in child.name):
                names.add(child.name)
            walk(child)

    for block in BLOCKS:
        walk(block.root)
    return frozenset(names)


SECRET_ELEMENTS = _secret_elements()
