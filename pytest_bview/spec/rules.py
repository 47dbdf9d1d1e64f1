"""The spec's rules as data: an id, the section, the spec's own words (with the line of the spec text), a level.

Rule 1: the level is the spec's word, not our wish. MUST: "must", "shall", "is required", or a plain
        statement of what the device does. SHOULD: "should", "usually", "generally", "recommended". MAY:
        "may", "e.g.", "etc.", or a value the spec leaves to the device (a freedom a conformant camera may
        use). ERRATA: where the words are ambiguous or contradict themselves, the decision of
        schemas/ERRATA.md (cited in `words`). SECURITY: a security advisory beyond the spec: the spec's words
        at `line` allow something that a provision of ETSI EN 303 645 or the OWASP IoT Security Verification
        Standard (ISVS), named in `provision`, advises against.
Rule 2: a failed MUST or ERRATA rule is a failure; a failed SHOULD or MAY rule is an *advisory*
        (pytest_bview/verdicts.py), unless --bview-strict. A failed SECURITY rule is an advisory always:
        the spec allows what it finds, so it is never a conformance failure, --bview-strict or not.
Rule 3: a check names the rules it verifies with `@pytest.mark.bview_rule("id", ...)`; a finding names the
        rule it breaks (`expect(..., rule="id")`); a conformant variant of the reference camera names the
        freedom it exercises. The ids are the join key: docs/RULES.md is generated from them
        (`python -m pytest_bview.testing.matrix --markdown`; `--check` in CI). A fault profile of the reference
        camera names the one rule it breaks: the fault matrix joins faults and checks on these ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

MUST, SHOULD, MAY, ERRATA, SECURITY = "MUST", "SHOULD", "MAY", "ERRATA", "SECURITY"
LEVELS = (MUST, SHOULD, MAY, ERRATA, SECURITY)
ADVISORY_LEVELS = (SHOULD, MAY, SECURITY)  # a failure of these is an advisory, not a failure (Rule 2)


@dataclass(frozen=True)
class Rule:
    id: str
    section: str
    line: int  # line of the spec text where the words stand
    words: str  # the spec's own words (shortened with "..." only)
    level: str
    area: str
    provision: str = ""  # SECURITY: the ETSI EN 303 645 or OWASP ISVS provision the advisory names

    @property
    def advisory(self) -> bool:
        """Whether a failure of this rule is an advisory (Rule 2)."""
        return self.level in ADVISORY_LEVELS

    @property
    def security(self) -> bool:
        """A security advisory beyond the spec: an advisory even under --bview-strict (Rule 2)."""
        return self.level == SECURITY


_TABLE = (
    # -- 1 scope: media streaming is RTSP's ----------------------------------------------------------------------------
    Rule(
        "rtsp-sdp-sprop",
        "1",
        134,
        "For further reference about media streaming, please refer to the Develop API of the RTSP protocol. "
        "(RFC 6184 8.1: sprop-parameter-sets 'MAY be used' to convey SPS and PPS out of band; a stream may "
        "carry them in-band only)",
        MAY,
        "media",
    ),
    Rule(
        "rtsp-udp",
        "1",
        134,
        "For further reference about media streaming, please refer to the Develop API of the RTSP protocol. "
        "(RFC 2326 12.39: RTP over UDP is RTP/AVP's default lower transport, interleaved TCP the other; "
        "which ones a camera serves is left to it)",
        MAY,
        "media",
    ),
    # -- 4.2 XML -------------------------------------------------------------------------------------------------------
    Rule(
        "discovery-well-formed",
        "4.2",
        193,
        "A device must support the syntax defined by W3C XML 1.0 specification [2] ... (a Discovery V2 reply "
        "too). ERRATA Discovery V2 E2-E5: the chapter 10 samples are not well-formed; a reply that needs any "
        "of their repairs fails, and every other check still reads it.",
        ERRATA,
        "discovery",
    ),
    # -- 4.5 messages ---------------------------------------------------------------------------------------------
    Rule(
        "http-persistent",
        "4.5.1",
        234,
        "Devices that implement HTTP/1.1 should support persistent connections in order to meet video management "
        "systems or client applications' requirements that issue multiple HTTP(s) transactions.",
        SHOULD,
        "protocol",
    ),
    Rule(
        "http-connection-close",
        "4.5.1",
        234,
        "HTTP/1.1 is implemented and utilized according to RFC 2616 in the IP devices. ... adopt the "
        "'Connection: close' HTTP header field for the last transaction of the persistent connection.",
        MUST,
        "protocol",
    ),
    Rule(
        "http-basic-auth",
        "4.5.2",
        240,
        "it must be authenticated by means of Basic Access [5] according to RFC 2617, and thus all the devices "
        "are required to support Basic Access. ... unauthorized HTTP response (401) will be returned with "
        "WWW-Authenticate header field.",
        MUST,
        "protocol",
    ),
    Rule(
        "http-auth-wrong-password",
        "4.5.2",
        240,
        "it must be authenticated by means of Basic Access [5] according to RFC 2617 ... (a request with a wrong "
        "password is not authenticated: it is answered 401 and served nothing)",
        MUST,
        "protocol",
    ),
    Rule(
        "rtsp-auth",
        "4.5.2",
        240,
        "When a video management system or client application sends any request to the device, it must be "
        "authenticated ... (an RTSP DESCRIBE of the chapter 8 streams too: 401 with a challenge, RFC 2326 "
        "12.44)",
        MUST,
        "media",
    ),
    Rule(
        "entity-content-type",
        "4.5.3",
        244,
        "The Content-Type entity-header field indicates the media type of the entity body.",
        MUST,
        "protocol",
    ),
    Rule(
        "entity-content-type-any",
        "4.5.3",
        244,
        "The Content-Type may be designated as 'application/xml;charset='UTF-8'', 'application/octet-stream', etc.",
        MAY,
        "protocol",
    ),
    Rule(
        "entity-content-type-xml",
        "4.5.3",
        244,
        "For configuration information, the Content-Type is usually 'application/xml; charset='UTF-8''.",
        SHOULD,
        "protocol",
    ),
    Rule(
        "xml-namespace",
        "4.5.3",
        284,
        '<ResponseStatus version="1.0" xmlns="http://www.hikvision.com/ver10/XMLSchema"> (elsewhere the zwcloud '
        'namespace, xmlns="", or none). ERRATA L1: the namespace carries no meaning; the B-View namespaces or '
        "none, bound to any prefix (Namespaces in XML), are accepted.",
        ERRATA,
        "schema",
    ),
    Rule(
        "put-configuration",
        "4.5.4",
        293,
        "The set device configuration resources use PUT operation. ... After the device configuration is updated "
        "successfully, it will return an XML response with status code 'OK'.",
        MUST,
        "protocol",
    ),
    # -- 5 device discovery (UPnP) -------------------------------------------------------------------------------------
    Rule(
        "upnp-msearch",
        "5",
        307,
        "The IP devices support Universal Plug and Play (UPnP) technology to discovery/locate themselves. "
        "(UPnP Device Architecture 1.0, 1.2.3: an M-SEARCH gets a 200 OK with CACHE-CONTROL, EXT, LOCATION, "
        "SERVER, ST and USN)",
        MUST,
        "discovery",
    ),
    Rule(
        "upnp-description-identity",
        "5",
        307,
        "A UPnP compatible device will automatically announce its network address, supported devices and "
        "services types ... (its description at LOCATION names the device /System/DeviceInfo describes; UDN "
        "starts every USN)",
        MUST,
        "discovery",
    ),
    # -- 6.1 XML blocks ---------------------------------------------------------------------------------------------
    Rule(
        "partial-update",
        "6.1.1",
        338,
        "Generally, if a field is not provided in the inbound XML, then its current values shall not be modified "
        "in the device's repository.",
        SHOULD,
        "system",
    ),
    Rule(
        "ro-ignored",
        "6.1.2",
        356,
        "Read-only. ... If this field is present in XML uploaded to the device, it should be ignored.",
        SHOULD,
        "system",
    ),
    Rule(
        "wo-never-returned",
        "6.1.2",
        357,
        "Write-only. This field is only present in XML that can be uploaded to the device. This field should "
        "never be present in data returned from the device. [This is used for uploading passwords].",
        SHOULD,
        "security",
    ),
    Rule(
        "time-partial-put-keeps-clock",
        "6.1.1",
        338,
        "Generally, if a field is not provided in the inbound XML, then its current values shall not be "
        "modified in the device's repository. (a PUT /System/Time without <SystemTime>, 9.2.1: the clock "
        "runs on)",
        SHOULD,
        "system",
    ),
    # -- 7 error handling -------------------------------------------------------------------------------------------
    Rule(
        "response-status-shape",
        "7",
        396,
        "<requestURL> indicates URI operation. <statusCode> represents the return value by the device.",
        MUST,
        "protocol",
    ),
    Rule(
        "xml-malformed-refused",
        "7",
        402,
        "-1 Decode error, maybe the XML and URL are not corresponding ... -2 Decode error, XML <req> tag may "
        "be missing (a body that is not well-formed XML is refused with -1 or -2 and changes nothing)",
        MUST,
        "protocol",
    ),
    Rule(
        "xml-url-mismatch-refused",
        "7",
        402,
        "-1 Decode error, maybe the XML and URL are not corresponding (an XML block that is not the URL's is "
        "refused and changes nothing)",
        MUST,
        "protocol",
    ),
    Rule(
        "wrong-channel",
        "7",
        405,
        "-4 Decode error, wrong channel identifier",
        MUST,
        "protocol",
    ),
    Rule(
        "domain-value-refused",
        "7",
        406,
        "-5 Parameter error (a value outside the domain its annotation or notes give, chapter 9: the spec's "
        "own cases; nothing of the refused request is applied)",
        MUST,
        "protocol",
    ),
    Rule(
        "domain-any-value-refused",
        "7",
        406,
        "-5 Parameter error (any value outside the domain its annotation gives, generated for every field of "
        "every block; a refused request changes nothing)",
        MUST,
        "protocol",
    ),
    Rule(
        "url-error",
        "7",
        411,
        "-10 URL Error ... ERRATA L7: -10 with HTTP 200 or 404, or a bare HTTP 404, for an unknown URL.",
        ERRATA,
        "protocol",
    ),
    Rule(
        "users-overflow",
        "7",
        412,
        "-11 User overflow (a POST /System/Users/1 beyond the device's maximum of users, 9.2.1)",
        MUST,
        "security",
    ),
    Rule(
        "users-exists",
        "7",
        414,
        "-13 User already exists (a POST /System/Users/1 with the UserName of a user, 9.2.1)",
        MUST,
        "security",
    ),
    Rule(
        "firmware-failure-status-positive",
        "7",
        417,
        "NOTE: For the upgrade: any if return value is greater than zero indicates an update failure.",
        MUST,
        "system",
    ),
    # -- 8 video streams and stream access -----------------------------------------------------------------------------
    Rule(
        "rtsp-describe-h264",
        "8",
        421,
        "The camera provides 3 parallel RTSP streams (main, first substream, second substream) ... "
        "(VideoCodecType H.264, line 1789: DESCRIBE answers an SDP with an H.264/90000 video track, RFC 6184)",
        MUST,
        "media",
    ),
    Rule(
        "stream-table-enforced",
        "8",
        423,
        "Valid parameters for the streams: ... (a value outside the table gets -5 Parameter error, line 406, "
        "and changes nothing)",
        MUST,
        "streams",
    ),
    Rule(
        "stream-table-accepted",
        "8",
        423,
        "Valid parameters for the streams: ... (every resolution of a stream's row is accepted and stored)",
        MUST,
        "streams",
    ),
    Rule(
        "rtsp-url-paths",
        "8",
        435,
        "The URLs for the RTSP streams are: ... rtsp://ip:port/live/0/main ... rtsp://ip:port/live/0/sub",
        MUST,
        "media",
    ),
    # -- 9.1 network ------------------------------------------------------------------------------------------------
    Rule(
        "collection-get-parts",
        "9.1",
        446,
        "Get network configuration ... Success Return NetworkList (and GET /Streams 9.4 line 1654, /Images "
        "9.6 line 1852, /Pictures 9.7 line 2104: a collection's block is the blocks of its parts)",
        MUST,
        "system",
    ),
    Rule(
        "collection-put-parts",
        "9.1",
        451,
        "Set network configuration ... Inbound Data NetworkList (and PUT /Images 9.6 line 1857, /Pictures "
        "9.7 line 2109: a collection's block is the blocks of its parts)",
        MUST,
        "system",
    ),
    Rule(
        "network-write-early-busy",
        "9.1",
        456,
        "The network configuration is stored asynchronously. Please leave at least 5 seconds between 2 "
        "configuration requests. ERRATA L11: a network write sent earlier is refused with -14 and applies "
        "nothing.",
        ERRATA,
        "network",
    ),
    Rule(
        "network-write-paced-accepted",
        "9.1",
        456,
        "The network configuration is stored asynchronously. Please leave at least 5 seconds between 2 "
        "configuration requests. (network writes 5 s apart are accepted)",
        MUST,
        "network",
    ),
    Rule(
        "password-not-retrieved",
        "9.1.1.2",
        537,
        "When retrieving data, the password field is not displayed. (9.1.1.2 DDNS Config; the same words in "
        "9.1.6 FTP, line 787; 9.1.3: The <SenderEmailPassword> content will not be retrieved by the GET command, "
        "line 675)",
        MUST,
        "security",
    ),
    Rule(
        "email-smtp-auth-login",
        "9.1.3",
        686,
        "<SMTPAuthMethod><!--req,xs:string,None,Login--></SMTPAuthMethod> ... <SenderEmailAddress> ... <SenderEmailPassword> (Login: the sender's address and password log in to the SMTP server)",
        MUST,
        "network",
    ),
    Rule(
        "email-schedule",
        "9.1.3",
        675,
        "If <AllDay> is true , <TimeBlock> field is invalid, if <AllDay> is false , <TimeBlock> field is valid. A day is divided into 48 blocks of 30 minutes which can be either active (1) or inactive (0).",
        MUST,
        "network",
    ),
    Rule(
        "email-snapshot-attached",
        "9.1.3",
        698,
        "<AttachedSnapshot><!--req,xs:boolean--></AttachedSnapshot> (true: event mail carries the snapshot, a JPEG picture)",
        MUST,
        "network",
    ),
    Rule(
        "port-change-restart",
        "9.1.4",
        731,
        "The device will be restarted after saving the configuration. (9.1.4 /Network/Port: it comes back on the saved HTTP port)",
        MUST,
        "network",
    ),
    Rule(
        "p2p-saved-before-restart",
        "9.1.5",
        761,
        "The network configuration is stored asynchronously. ... The device will be restarted after saving the configuration.",
        MUST,
        "network",
    ),
    Rule(
        "ftp-content-mask",
        "9.1.6",
        787,
        "Valid values for <TransferContentTypeMask>: '00' disable '01' only upload picture '10' only upload video '11' both upload picture and video",
        MUST,
        "network",
    ),
    Rule(
        "ftp-storage-directory",
        "9.1.6",
        800,
        "<StorageDirectory><!--req,xs:string--></StorageDirectory> (the uploads go into it)",
        MUST,
        "network",
    ),
    Rule(
        "ftp-status",
        "9.1.6",
        801,
        "<Status><!--opt,xs:string,'not connect','connected'--></Status> (opt: a camera that reports it tells the truth)",
        MUST,
        "network",
    ),
    Rule(
        "ip-address-change",
        "9.1.7.1.1",
        870,
        "The network configuration is stored asynchronously. ERRATA L30: the camera then answers at the saved address within the suite's deadline, and IPAddress names it.",
        ERRATA,
        "network",
    ),
    Rule(
        "ip-unusable-refused",
        "9.1.7.1.1",
        878,
        "<ipAddress><!--req,xs:string--></ipAddress> ... <SubnetMask> ... ERRATA L31: an address no host can have (a broadcast address, a non-contiguous mask) is a parameter error (-5) and changes nothing.",
        ERRATA,
        "network",
    ),
    Rule(
        "dhcp-enable-kept",
        "9.1.7.1.1.1",
        898,
        "Set the DHCP of a particular network interface. ERRATA L30: DHCP Enable true holds after it took effect, and the camera stays reachable (its address or Discovery V2).",
        ERRATA,
        "network",
    ),
    Rule(
        "dhcp-lease-reported",
        "9.1.7.1.1.1",
        898,
        "Set the DHCP of a particular network interface. ERRATA L30: with DHCP on, GET IPAddress shows the address of the lease.",
        ERRATA,
        "network",
    ),
    Rule(
        "dhcp-off-static-address",
        "9.1.7.1.1.1",
        898,
        "Set the DHCP of a particular network interface. ERRATA L30: the static ones stay stored for DHCP off (DHCP off: the camera returns to its static address).",
        ERRATA,
        "network",
    ),
    Rule(
        "password-empty-keeps",
        "9.1.1.2",
        537,
        "For SET, the password will be only changed if the field contains data. (9.1.1.2 DDNS Config; the "
        "same words in 9.1.6 FTP, line 787; 9.1.3: The value will be only changed if the password field of "
        "the PUT comman contains valid data, line 675)",
        MUST,
        "security",
    ),
    Rule(
        "wireless-only-card-2",
        "9.1.7.1.2",
        952,
        "Only applicable on wireless network interfaces. ERRATA L8: a wireless resource on the wired card 1 "
        "gets -3 Unsupported operation.",
        ERRATA,
        "network",
    ),
    Rule(
        "wifi-ap-list-values",
        "9.1.7.1.2",
        972,
        "<SignalValue><!--ro,req,xs:integer,0-100--> (each AccessPoint with its ID, SSID; WirelessMode one "
        "of the notes' 1-9, line 953)",
        MUST,
        "network",
    ),
    Rule(
        "wifi-test-result",
        "9.1.8",
        1072,
        "To check the result, run the WifiParamTestStatus command 30 seconds after this command. (9.1.9 "
        'Status "disconnect,connected", line 1166)',
        MUST,
        "network",
    ),
    Rule(
        "wifi-test-unknown-ssid",
        "9.1.9",
        1159,
        'Returns the result of the WiFiParamTest command. (a network no access point offers: "disconnect")',
        MUST,
        "network",
    ),
    # -- 9.2 system -------------------------------------------------------------------------------------------------
    Rule(
        "time-clock-runs",
        "9.2.1",
        1184,
        "Set time configuration ... <SystemTime> (the device's clock: once set, it runs on in real time)",
        MUST,
        "system",
    ),
    Rule("system-time-iso8601", "9.2.1", 1189, "The date and time string has ISO 8601 format.", MUST, "system"),
    Rule(
        "time-zone-posix",
        "9.2.2",
        1222,
        "TimeZone: time zones are defined by POSIX 1003.1 section 8.3 time zone notations.",
        MAY,
        "system",
    ),
    Rule(
        "ntp-timezone-stored",
        "9.2.2",
        1222,
        "TimeZone: time zones are defined by POSIX 1003.1 section 8.3 time zone notations. ... Example: "
        "EST+5EDT01:00:00,M3.2.0/02:00:00,M11.1.0/02:00:00 (the notes' examples are accepted and returned "
        "whole)",
        MUST,
        "system",
    ),
    Rule(
        "ntp-timezone-non-posix-refused",
        "9.2.2",
        1222,
        "TimeZone: time zones are defined by POSIX 1003.1 section 8.3 time zone notations. the +/- value "
        "indicates the difference from UTC. (a TimeZone that is not such a string gets -5 and changes "
        "nothing)",
        MUST,
        "system",
    ),
    Rule(
        "dst-modes-stored",
        "9.2.3",
        1250,
        'If <Mode> is "date", use <DateModeStart> and <DateModeStop> ... If <Mode> is "week", use '
        "<WeekModeStart> and <WeekModeStop> ... ISO 8601 date/time string is accepted and returned",
        MUST,
        "system",
    ),
    Rule(
        "dst-week-format",
        "9.2.3",
        1254,
        '<WeekModeStart> and <WeekModeStop>: the format is "month-week-day-hour-minute-second" in numbers '
        "(ERRATA B49: month 1-12, week 1-5, day 0-7, hour 0-23, minute and second 0-59; anything else gets "
        "-5)",
        MUST,
        "system",
    ),
    Rule(
        "force-iframe",
        "9.2.2",
        1584,
        "Force i-frame remotely (PUT /System/ChannelID/RemoteForceFrame: an IDR frame follows the request)",
        MUST,
        "media",
    ),
    Rule(
        "device-identity",
        "9.2.4",
        1295,
        "<DeviceTypeName><!--ro,req,xs:string-->, <SerialNum>, <HardWareVersion>, <SoftWareVersion> "
        "<!--ro,req,xs:string-->: the device's own strings.",
        MAY,
        "system",
    ),
    Rule(
        "log-type-filter",
        "9.2.10",
        1424,
        "Query majorType minorType ... (the notes' types: a query returns the entries of the type it asks)",
        MUST,
        "system",
    ),
    Rule(
        "log-bad-query-refused",
        "9.2.10",
        1424,
        "Query majorType minorType ... startTime stopTime. ERRATA L12: a malformed majorType, minorType, "
        "startTime or stopTime gets -5.",
        ERRATA,
        "system",
    ),
    Rule(
        "log-operation-types",
        "9.2.10",
        1429,
        "1 System Operation 2 Configuration Operation ... 4 User Management ... (minorType 104 network, 111 "
        "image color settings; 301 Add user, 302 Delete user, line 1445: an operation is logged with its "
        "types)",
        MUST,
        "system",
    ),
    Rule(
        "device-status-bitrates",
        "9.2.5.1",
        1339,
        "Get status of a specific channel ... <MainStreamVideoBitrate><!--ro,req,xs:integer --> ... "
        "<FirstSubStreamVideoBitrate> (the Bitrate each stream is configured with)",
        MUST,
        "media",
    ),
    Rule(
        "motion-state",
        "9.2.5.1",
        1361,
        "<MotionState><!--ro,req,xs:boolean--></MotionState> (true while motion is seen, false after it)",
        MUST,
        "events",
    ),
    Rule(
        "firmware-upgrade-applied",
        "9.2.6",
        1372,
        "Upgrade device firmware ... Firmware as multipart/form-data ... Success Return ResponseStatus (a valid package: statusCode 0, a restart, the new SoftWareVersion, the configuration intact)",
        MUST,
        "system",
    ),
    Rule(
        "firmware-bad-package-refused",
        "9.2.6",
        1372,
        "Upgrade device firmware ... ERRATA L18: a package that is empty, truncated, corrupt or for another model is refused; the camera keeps running its old version.",
        ERRATA,
        "system",
    ),
    Rule(
        "firmware-refusal-changes-nothing",
        "9.2.6",
        1372,
        "Upgrade device firmware ... ERRATA L18: a refused package changes nothing (the configuration stays as it was).",
        ERRATA,
        "system",
    ),
    Rule(
        "reboot-restarts",
        "9.2.7",
        1393,
        "Reboot the camera (it goes away, then answers again: DeviceInfo and the streams of chapter 8)",
        MUST,
        "system",
    ),
    Rule(
        "reboot-keeps-configuration",
        "9.2.7",
        1393,
        "Reboot the camera (a reboot, not 9.2.8 'Restore factory settings': the configuration stays)",
        MUST,
        "system",
    ),
    Rule(
        "factory-default-values",
        "9.2.8",
        1403,
        "Restore factory settings (chapter 8: 'Default value are indicated by * or in brackets')",
        MUST,
        "system",
    ),
    Rule(
        "factory-default-users",
        "9.2.8",
        1403,
        "Restore factory settings ... ERRATA L15: users are reduced to the admin (ID 0).",
        ERRATA,
        "system",
    ),
    Rule(
        "email-test-message",
        "9.2.9",
        1413,
        "Send a test email message ... Configure email client first using /Network/Email (from <SenderEmailAddress> to every <Receiver>, 9.1.3)",
        MUST,
        "network",
    ),
    Rule(
        "email-test-failure-status",
        "9.2.9",
        1413,
        "Send a test email message ... Success Return ResponseStatus (chapter 7: a message that cannot be delivered is not 0 Success, and the answer comes)",
        MUST,
        "network",
    ),
    Rule(
        "log-time-filter",
        "9.2.10",
        1478,
        "The format of 'startTime' and 'stopTime' is 'YYYY-MM-DDThh:mm:ss'. The device supports up to 1000 log "
        "entries.",
        MUST,
        "system",
    ),
    Rule(
        "log-holds-history",
        "9.2.10",
        1478,
        "The device supports up to 1000 log entries.",
        MAY,
        "system",
    ),
    Rule(
        "log-at-most-1000",
        "9.2.10",
        1478,
        "The device supports up to 1000 log entries. (ERRATA B54: a LogList holds at most 1000 Log)",
        MUST,
        "system",
    ),
    Rule(
        "users-many",
        "9.2.12",
        1529,
        "'N' corresponds to the user <ID> +1, so to get the data for user 6, N is 7.",
        MAY,
        "security",
    ),
    Rule(
        "users-n-is-id-plus-one",
        "9.2.12",
        1529,
        "'N' corresponds to the user <ID> +1, so to get the data for user 6, N is 7. (the admin has ID 0, line 1562)",
        MUST,
        "security",
    ),
    Rule(
        "users-delete",
        "9.2.1",
        1558,
        "Delete user (DELETE /System/Users/N: the user is gone, its credentials refused; ERRATA L13: N is ID + 1)",
        MUST,
        "security",
    ),
    Rule(
        "users-admin-kept",
        "9.2.1",
        1562,
        "There is only one admin user with ID 0.",
        MUST,
        "security",
    ),
    Rule(
        "users-post-rules",
        "9.2.1",
        1562,
        'Do only add "Normal" users. To add a new user, <ID> is required but it needs to be empty. ... <ID>, '
        "<IPAddress>, and <MACAddress> must be empty but included in the body.",
        MUST,
        "security",
    ),
    Rule(
        "users-put-changes-password",
        "9.2.1",
        1564,
        "For PUT: the only parameter which can be changed is the password. (a PUT with a new password: only "
        "the new one authenticates, 9.3.1)",
        MUST,
        "security",
    ),
    Rule(
        "users-put-password-only",
        "9.2.1",
        1564,
        "For PUT: the only parameter which can be changed is the password. In any case ... also <UserLevel> "
        "must be included in the body and it must be empty.",
        MUST,
        "security",
    ),
    Rule(
        "users-empty-password-keeps",
        "9.2.1",
        1573,
        "<Password><!--wo,req,xs:string--> (an empty <Password/> is no new password: For SET, the password "
        "will be only changed if the field contains data, 9.1.1.2 line 537)",
        MUST,
        "security",
    ),
    Rule(
        "users-operator-level",
        "9.2.4",
        1615,
        "PUT Operator (the Operator rows: 9.2.4 DeviceAutoMaintenance, 9.9.1, 9.10, 9.10.1, 9.11). ERRATA "
        "L10: a Normal user is refused (HTTP 403 or 401, or a non-zero statusCode) and nothing changes.",
        ERRATA,
        "security",
    ),
    Rule(
        "automaintenance-restart",
        "9.2.4",
        1621,
        "<Enable>: enable automatic restart function. ERRATA L19: the camera restarts at MaintenanceTime, device local time (everyday its time of day, everyweek the same on the days of WeekDayMask, once the date and time).",
        ERRATA,
        "system",
    ),
    Rule(
        "automaintenance-weekmask",
        "9.2.4",
        1622,
        "<Mode>: restart interval whereby <WeekDayMask> applies only if 'everyweek' is selected. <WeekDayMask>: mask format '0000000' for the week starting on Sunday.",
        MUST,
        "system",
    ),
    # -- security advisories: what the spec lets a camera do, against ETSI EN 303 645 / OWASP ISVS ------------------
    Rule(
        "sec-factory-credentials",
        "9.3.1",
        1648,
        "Username=admin&Password=admin (the spec's own example credentials; nothing requires them to change)",
        SECURITY,
        "security",
        "ETSI EN 303 645 5.1-1: no universal default passwords",
    ),
    Rule(
        "sec-basic-cleartext",
        "4.5.2",
        240,
        "it must be authenticated by means of Basic Access [5] according to RFC 2617 (over http or https, 4.1)",
        SECURITY,
        "security",
        "ETSI EN 303 645 5.5-1: communicate securely (credentials never in clear text on a network)",
    ),
    Rule(
        "sec-password-throttle",
        "4.5.2",
        240,
        "Authorization header field is sent along with each request, and if a user is authenticated, the request "
        "will follow the normal execution flow. ... unauthorized HTTP response (401) will be returned (nothing "
        "limits how often a wrong password may be tried)",
        SECURITY,
        "security",
        "ETSI EN 303 645 5.1-5: a mechanism available which makes brute-force attacks on authentication "
        "mechanisms via network interfaces impracticable (its example: a limit on attempts within a time "
        "interval, with increasing intervals between attempts)",
    ),
    Rule(
        "sec-wifi-key-readable",
        "9.1.7.1.3",
        1006,
        "The use of <KeyValue> and <KeyValueB64> is alternative (both 'opt' or 'req', not 'wo' as 6.1.2 marks "
        "passwords: a device may return the WiFi key)",
        SECURITY,
        "security",
        "ETSI EN 303 645 5.4-1: sensitive security parameters in storage are stored securely (not read back)",
    ),
    Rule(
        "sec-normal-user-admin-ops",
        "9.2.3",
        1594,
        "GET Viewer (the configuration file; the rows of the user list, Reboot, FactoryDefault and FirmwareUpgrade "
        "are 'Viewer' too: open to every user, ERRATA L10)",
        SECURITY,
        "security",
        "OWASP ISVS V2 (authorization: least privilege, administrative functions for administrators only); "
        "ETSI EN 303 645 5.6 (minimize exposed attack surfaces)",
    ),
    Rule(
        "sec-configfile-secrets",
        "9.2.3",
        1595,
        "Description Retrieve camera's configuration file ... Success Return Config file (its content is left to "
        "the device)",
        SECURITY,
        "security",
        "ETSI EN 303 645 5.4-1: sensitive security parameters in storage are stored securely (not exported in "
        "clear text)",
    ),
    Rule(
        "configfile-round-trip",
        "9.2.3",
        1595,
        "Retrieve camera's configuration file ... PUT ... Upload device configuration (the file GET gave, uploaded, restores that configuration)",
        MUST,
        "system",
    ),
    Rule(
        "configfile-damaged-refused",
        "9.2.3",
        1600,
        "Upload device configuration ... ERRATA L17: a PUT is checked whole, then applied in one atomic write: a damaged file is refused (-1) and changes nothing.",
        ERRATA,
        "system",
    ),
    Rule(
        "configfile-foreign-refused",
        "9.2.3",
        1600,
        "Upload device configuration ... ERRATA L17: a file of another model is refused (-12) and changes nothing.",
        ERRATA,
        "system",
    ),
    Rule(
        "sec-rtsp-digest-replay",
        "8",
        437,
        "rtsp://ip:port/live/0/main (the streams; the spec leaves RTSP authentication to the RTSP protocol's own "
        "rules)",
        SECURITY,
        "security",
        "ETSI EN 303 645 5.5-1 (communicate securely) and OWASP ISVS V3 (a captured authentication cannot be "
        "replayed: RFC 2617 3.2.2 nonce counts)",
    ),
    Rule(
        "sec-discovery-amplification",
        "10",
        2799,
        "This is achieved using multicast messages to transmit device information (and UPnP/SSDP, 5: answers to "
        "unauthenticated UDP requests, of any size the device chooses)",
        SECURITY,
        "security",
        "ETSI EN 303 645 5.6-1 and 5.6-2 (minimize exposed attack surfaces; unused or abusable services): a UDP "
        "answer many times its request makes the camera a reflector for denial-of-service traffic",
    ),
    Rule(
        "sec-discovery-101-unauthenticated",
        "10",
        2848,
        '<CfgInfo MainCommand="101" AssistCommand="-1" DeviceMac="xx" /> (the 101 sample request, which sets the '
        "address and ports, carries no <Auth>)",
        SECURITY,
        "security",
        "ETSI EN 303 645 5.6 (minimize exposed attack surfaces) and OWASP ISVS V2 (every configuration change "
        "authenticated)",
    ),
    # -- 9.3 security -----------------------------------------------------------------------------------------------
    Rule(
        "user-auth",
        "9.3.1",
        1644,
        "Check user credntials ... Success Return ResponseStatus (ERRATA L14: 0 for right credentials, "
        "non-zero for wrong ones)",
        MUST,
        "security",
    ),
    # -- 9.4 streams ------------------------------------------------------------------------------------------------
    Rule(
        "capability-lists-stream-table",
        "9.4.1.1",
        1712,
        "Get streaming capabilities (among them the chapter 8 main-stream resolutions 1920x1080, 1024x768, 640x512)",
        MUST,
        "streams",
    ),
    Rule(
        "capability-resolutions-accepted",
        "9.4.1.2",
        1778,
        "Resolution and frame rate ranges refer to the <StreamCapability>",
        MUST,
        "streams",
    ),
    # -- 9.6 images -------------------------------------------------------------------------------------------------
    Rule(
        "dependent-fields-refused",
        "9.6.1.5",
        2047,
        '<GainRed> and <GainBlue> are applicable only if <Mode> is "manual". (and the notes of 9.1.1.2, '
        "9.1.7.1.3, 9.2.1-9.2.4, 9.6.1.3, 9.6.1.6, 9.7.1.4) ERRATA L23-L28: a PUT breaking a cross-field "
        "rule gets -5 and changes nothing.",
        ERRATA,
        "system",
    ),
    # -- 9.11 disk --------------------------------------------------------------------------------------------------
    Rule(
        "disk-put-unsupported",
        "9.11",
        2655,
        "The PUT method is currently not supported. (PUT /Disk: -3 Unsupported operation, nothing changes)",
        MUST,
        "system",
    ),
    Rule(
        "format-status-formatted",
        "9.11",
        2671,
        "<DiskFormatStatus><!--ro,req,xs:string,'unformatted,formatting,formatted,format failure'--></DiskFormatStatus> (9.10.4 Format the storage device) ERRATA L20: formatting, then formatted within the deadline.",
        ERRATA,
        "record",
    ),
    Rule(
        "format-capacity-free",
        "9.11",
        2665,
        "<AvailableCapacity><!--ro,req,xs:integer,the unit is MB--></AvailableCapacity> ERRATA L20: after a format AvailableCapacity is 90-100 % of TotalCapacity (an empty disk).",
        ERRATA,
        "record",
    ),
    Rule(
        "stream-config-applies",
        "9.4.1.2",
        1767,
        "Set streaming properties for StreamID (the next RTSP session of the stream has them)",
        MUST,
        "media",
    ),
    Rule(
        "stream-resolution",
        "9.4.1.2",
        1767,
        "Set streaming properties for StreamID ... <ResolutionWidth> ... <ResolutionHeigth> (the decoded "
        "picture has the configured size)",
        MUST,
        "media",
    ),
    Rule(
        "stream-frame-rate",
        "9.4.1.2",
        1774,
        "<FrameRate> field indicates the frame rate, if the value is 25500, which indicates that the frame "
        "rate is a full frame rate.",
        MUST,
        "media",
    ),
    Rule(
        "stream-bitrate-cbr",
        "9.4.1.2",
        1776,
        "If <StreamID> corresponds to a sub-stream, then ... <BitrateType> is always a CBR (constant bit "
        "rate). (<Bitrate> in kbps: the stream's bit rate)",
        MUST,
        "media",
    ),
    Rule(
        "rtspuri-address",
        "9.4.1.2.1",
        1814,
        "The <RTSPURI> field indicates the address which is access to the stream by the RTSP Protocol. (the "
        "host the client used and the RTSP port the device serves)",
        MUST,
        "media",
    ),
    Rule(
        "mjpeg-stream",
        "9.4.1.2.2",
        1830,
        "Get the MJPEG stream for the device. ... Currently only the 4th stream of the 1st channel supports "
        "this format (multipart/x-mixed-replace, RFC 2046 5.1, of complete JPEGs at stream 4's resolution)",
        MUST,
        "media",
    ),
    Rule(
        "mjpeg-part-framing",
        "9.4.1.2.2",
        1830,
        "Get the MJPEG stream for the device. (how the parts are framed is left to the device: RFC 2046 "
        "5.1.1 allows a preamble before the first boundary and part headers without Content-Length)",
        MAY,
        "media",
    ),
    # -- 9.5 snapshot --------------------------------------------------------------------------------------------------
    Rule(
        "snapshot-mjpeg-size",
        "9.5.1",
        1846,
        "The resolution corresponds to the settings of the 4th stream (Motion JPEG).",
        MUST,
        "media",
    ),
    # -- 9.6 images ----------------------------------------------------------------------------------------------------
    Rule(
        "flip-mode-picture",
        "9.6.1.2",
        1945,
        "Set basic image configuration ... <FlipMode> close,leftright,updown,center,notsupport (the picture "
        "is mirrored as FlipMode says)",
        MUST,
        "media",
    ),
    Rule(
        "brightness-picture",
        "9.6.1.3",
        1980,
        "If mode is “manual”, setting the value of the <Brightness> field is valid.",
        MUST,
        "media",
    ),
    # -- 9.7 pictures --------------------------------------------------------------------------------------------------
    Rule(
        "osd-name-drawn",
        "9.7.1.1",
        2167,
        "Set OSD configuration ... <DisplayName> <Enable> <PosX> <PosY> <Name> (the name is drawn at PosX/PosY)",
        MUST,
        "media",
    ),
    Rule(
        "motion-enable",
        "9.7.1.2",
        2205,
        "Set motion detection configuration ... <Enable><!--req,xs:boolean--></Enable> (false: nothing is detected)",
        MUST,
        "events",
    ),
    Rule(
        "motion-sensitivity",
        "9.7.1.2",
        2217,
        "<Sensitive><!--req,xs:string,'low,middle,high',--></Sensitive> (low ignores small motion that high detects)",
        MUST,
        "events",
    ),
    Rule(
        "motion-regions",
        "9.7.1.3",
        2228,
        "It is used to get the motion regions configuration of a particular video input channel for the device. ... <RegionX_0><!--xs:string,'00000000000000'--></RegionX_0> (only cells set to 1 count)",
        MUST,
        "events",
    ),
    Rule(
        "motion-trigger-notify-ams",
        "9.7.1.3.1",
        2269,
        "Set motion trigger configuration ... <NotifyAMS> <Enable><!--req,xs:boolean--></Enable> (false: motion does not call the alarm server)",
        MUST,
        "alarm",
    ),
    Rule(
        "motion-schedule",
        "9.7.1.3.2",
        2332,
        "If set to <AllDay> , <TimeBlock> is not applicable. A day is divided into 48 blocks of 30 minutes each. Block 0 stands for Sunday... Block 6 for Saturday.",
        MUST,
        "events",
    ),
    Rule(
        "mosaic-masks-picture",
        "9.7.1.4",
        2363,
        "Set privacy mask configuration ... 4 masks with ID 1..4 are supported.",
        MUST,
        "media",
    ),
    # -- 9.8 two-way audio ---------------------------------------------------------------------------------------------
    Rule(
        "audio-send-needs-open",
        "9.8.1",
        2395,
        "Open 2-way audio ... Close 2-way audio (line 2413) ... Send audio data (line 2423: while 2-way audio is open)",
        MUST,
        "streams",
    ),
    Rule(
        "audio-loopback",
        "9.8.3",
        2423,
        "Send audio data ... Receive audio data. (line 2446; Content-Type: audio/basic, played and heard as sent)",
        MUST,
        "media",
    ),
    Rule(
        "events-subscribe",
        "9.9.1",
        2491,
        "Use 'PUT' to subscribe to an event type by setting <EventType> (GET lists it)",
        MUST,
        "events",
    ),
    Rule(
        "events-unsubscribe",
        "9.9.1",
        2486,
        "Delete event type subscription",
        MUST,
        "events",
    ),
    Rule(
        "events-type-filter",
        "9.9.1",
        2491,
        "Use 'PUT' to subscribe to an event type by setting <EventType>. ERRATA L21: an event of a type nobody subscribed is not listed.",
        ERRATA,
        "events",
    ),
    Rule(
        "events-list-needs-subscription",
        "9.9.2",
        2514,
        "Notes: You need to subscribe to at least one event type first. ERRATA L21: before any subscription GET EventList answers ResponseStatus -12 'Invalid operation'.",
        ERRATA,
        "events",
    ),
    Rule(
        "events-motion-listed",
        "9.9.2",
        2510,
        "Retrieve events list (a VMD event once motion is seen)",
        MUST,
        "events",
    ),
    Rule(
        "events-fields",
        "9.9.2",
        2522,
        "<ID><!--req,xs:string--></ID> <IPAddress><!--req,xs:string--></IPAddress> <Port><!--req,xs:integer--></Port> ... <DateTime><!--req,xs:datetime--></DateTime> <EventType> ... <EventDescription><!--req,xs:string-->",
        MUST,
        "events",
    ),
    Rule(
        "record-disabled",
        "9.10.1",
        2579,
        "Enable or disable recording function (ERRATA L22: disabled, HttpEvent/Call records nothing and notifies nobody)",
        MUST,
        "record",
    ),
    Rule(
        "record-pre-and-post",
        "9.10.2",
        2599,
        "Starts event recording. The result of combined pre-recording and post event recording will be saved into a file located in /download/video/.",
        MUST,
        "record",
    ),
    Rule(
        "record-file-saved",
        "9.10.2",
        2599,
        "Starts event recording. ... will be saved into a file located in /download/video/. (9.10.3: eventfile is the video file name in the /download/video/ directory)",
        MUST,
        "record",
    ),
    Rule(
        "record-file-avi",
        "9.10.3",
        2615,
        "Request URL example: http://192.168.50.50/eventurl/myevent.php?eventfile=H_20160712192233_00006.avi&camip=192.168.50.51 (the example's file is an AVI)",
        MAY,
        "record",
    ),
    Rule(
        "notify-request",
        "9.10.3",
        2615,
        "Request URL example: ... whereby 192.168.50.50 is the notification target '<Host>' camip is the IP address of the camera eventfile is the video file name in the /download/video/ directory",
        MUST,
        "record",
    ),
    Rule(
        "notify-eventfile-name",
        "9.10.3",
        2615,
        "Request URL example: http://192.168.50.50/eventurl/myevent.php?eventfile=H_20160712192233_00006.avi&camip=192.168.50.51 (the file name's form H_<YYYYMMDDhhmmss>_<n>.avi is the example's)",
        MAY,
        "record",
    ),
    # -- 9.12 PTZ ------------------------------------------------------------------------------------------------------
    Rule(
        "ptz-calibration-busy",
        "9.12.1",
        2690,
        "After sending the command, the camera will process recalibration for 3 to 5 minutes. In this time, "
        "do not send other image or PTZ setting commands. (the client's duty; how the camera answers such a "
        "command is left to it: -14 Camera is busy, line 415)",
        MAY,
        "ptz",
    ),
    Rule(
        "ptz-start-stop",
        "9.12.2",
        2700,
        "Use Param1=1 to start and Param1=2 stop focus operation. (the same for FocusNear, ZoomIn, ZoomOut: "
        "9.12.3-9.12.5)",
        MUST,
        "ptz",
    ),
    Rule(
        "alarm-server-called",
        "9.13.1",
        2745,
        "UserName, Password: optional values for HTTP authentication with alarm server ServerURL: Server address coded to base64 (motion with Trigger NotifyAMS calls it)",
        MUST,
        "alarm",
    ),
    Rule(
        "alarm-basic-credentials",
        "9.13.1",
        2745,
        "UserName, Password: optional values for HTTP authentication with alarm server",
        MUST,
        "alarm",
    ),
    Rule(
        "alarm-message-base64",
        "9.13.2",
        2768,
        "Message: Base64 encoded Server URL ... Text: motion/test.asp Base64: bW90aW9uL3Rlc3QuYXNw",
        MUST,
        "alarm",
    ),
    Rule(
        "alarm-interval",
        "9.13.2",
        2770,
        "Alarm interval: event repetition time in case of continuous motion in seconds (default 300)",
        MUST,
        "alarm",
    ),
    Rule(
        "ptz-speed-range",
        "9.12.2",
        2700,
        "Use Param2 to set the speed. Valid values are from 1 to 10. (others: -5 Parameter error, line 406)",
        MUST,
        "ptz",
    ),
    Rule(
        "ptz-wrong-channel",
        "9.12.2",
        2700,
        "The camera only supports <ChannelID> 1. (another ChannelID: -4 Decode error, wrong channel "
        "identifier, line 405)",
        MUST,
        "ptz",
    ),
    # -- 10 device discovery V2 ----------------------------------------------------------------------------------------
    Rule(
        "discovery-probe-answered",
        "10",
        2799,
        "This is achieved using multicast messages to transmit device information. The multicast address is "
        "239.239.239.52 at port 5566. (a 100 Detect Request is answered)",
        MUST,
        "discovery",
    ),
    Rule(
        "discovery-probe-agrees-with-rest",
        "10",
        2799,
        "This is achieved using multicast messages to transmit device information. (the device REST "
        "describes: 9.1.4 /Network/Port, 9.1.7.1.1 IPAddress, 9.2.4 DeviceInfo; RtspPort is /Network/Port "
        "RTP, ERRATA L6)",
        MUST,
        "discovery",
    ),
    Rule(
        "discovery-probe-fields",
        "10",
        2802,
        "//Detect Request ... <DeviceProbeConfig> ... <DeviceIP><!--req,xs:string--> ... "
        "<HttpPort><!--req,xs:integer--> ... (every field present, of its type: schemas/DiscoveryV2.xsd)",
        MUST,
        "discovery",
    ),
    Rule(
        "discovery-102-net-config",
        "10",
        2886,
        "//Detect Network Configuration , requires authentication ... <DeviceProbeNetConfig> ... "
        "<NetworkInterfaceList> (with valid <Auth>: the interfaces)",
        MUST,
        "discovery",
    ),
    Rule(
        "discovery-auth-required",
        "10",
        2886,
        "//Detect Network Configuration , requires authentication ... //Detect Set Network Configuration , "
        "requires authentication (line 2948: wrong or missing <Auth> gets no success)",
        MUST,
        "discovery",
    ),
    Rule(
        "discovery-netconfig-agrees-with-rest",
        "10",
        2886,
        "//Detect Network Configuration , requires authentication ... <NetworkInterface> <ID> <DhcpEnable> "
        "<MAC> <IPAddress> <Netmask> <Gateway> (as /Network/Interfaces/ID/IPAddress reports them)",
        MUST,
        "discovery",
    ),
    Rule(
        "discovery-config-length",
        "10",
        3009,
        "<ConfigLenght> is show the struct length that you send. ERRATA Discovery V2 E6: ConfigLength is the "
        "byte length of the whole UTF-8 datagram.",
        ERRATA,
        "discovery",
    ),
    Rule(
        "discovery-reply-command-id",
        "10",
        3011,
        "If it is the data that the server send,the <CommandID> is 11. <Replymsg> is the error code that the "
        "server send, if the <ReplyMsg> is 0,then reply success",
        MUST,
        "discovery",
    ),
    Rule(
        "discovery-mac-agrees",
        "10",
        3016,
        "<DeviceMac> is the Device mac ... (in the 100 reply, and as <MAC> of the 102 reply's "
        "NetworkInterface: the MAC /Network/Interfaces/1/IPAddress reports)",
        MUST,
        "discovery",
    ),
    Rule(
        "discovery-mac-addressed",
        "10",
        3016,
        "<DeviceMac> is the Device mac that you want to set. ERRATA Discovery V2 E12: a request naming "
        "another device's MAC is not answered (an empty, absent or xx DeviceMac addresses every device for "
        "100 and 102).",
        ERRATA,
        "discovery",
    ),
)

RULES: dict[str, Rule] = {r.id: r for r in _TABLE}


class UnknownRule(KeyError):
    """A rule id that the table does not declare."""


def rule(rule_id: str) -> Rule:
    """The rule with this id; an unknown id is a domain error (a typo must not silently mean "MUST")."""
    try:
        return RULES[rule_id]
    except KeyError:
        raise UnknownRule(f"no rule {rule_id!r} in pytest_bview/spec/rules.py") from None


def counts() -> dict[str, int]:
    """Rules by level."""
    return {level: sum(1 for r in RULES.values() if r.level == level) for level in LEVELS}


# -- the published table (docs/RULES.md) ---------------------------------------------------------------------------


def checks_by_rule(root: Path) -> dict[str, list[str]]:
    """rule id -> the checks of suites/ that name it with @pytest.mark.bview_rule (read from the source)."""
    import ast

    found: dict[str, list[str]] = {}
    for module in sorted((root / "suites").glob("test_*.py")):
        for node in ast.parse(module.read_text("utf-8")).body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.name.startswith("test_"):
                continue
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "bview_rule":
                    for arg in deco.args:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                            found.setdefault(arg.value, []).append(f"suites/{module.name}::{node.name}")
    return found


PIPE = "\\|"  # a | inside a Markdown table cell


def markdown(root: Path, faults: dict[str, Any], variants: dict[str, Any]) -> str:
    """docs/RULES.md: rule -> level -> checks -> faults -> variants, with counts.

    `faults` maps a fault name to an object with `rule` (the rule it breaks); `variants` maps a variant name to an
    object with `rules` (the freedoms it exercises).
    """
    checks = checks_by_rule(root)

    def cell(items: list[str]) -> str:
        return "<br>".join("`" + i.replace("|", PIPE) + "`" for i in items) or "—"

    rows = []
    joined_faults: set[str] = set()
    joined_variants: set[str] = set()
    for r in RULES.values():
        mine = checks.get(r.id, [])
        fs = sorted(n for n, f in faults.items() if f.rule == r.id)
        vs = sorted(n for n, v in variants.items() if r.id in v.rules)
        joined_faults.update(fs)
        joined_variants.update(vs)
        words = r.words.replace("|", PIPE) + (f" **Beyond the spec:** {r.provision}" if r.provision else "")
        rows.append(f"| `{r.id}` | {r.section} | {r.line} | {r.level} | {r.area} | {words} | {cell(mine)} | "
                    f"{cell(fs)} | {cell(vs)} |")  # fmt: skip
    by_level = counts()
    named = sorted({c for cs in checks.values() for c in cs})
    lines = [
        "# Rules of the spec and what checks them",
        "",
        "Generated by `python -m pytest_bview.testing.matrix --markdown` from `pytest_bview/spec/rules.py`; do not",
        "edit by hand (`python -m pytest_bview.testing.matrix --check` fails in CI when they disagree).",
        "",
        "A rule is the spec's own words at a line of the spec text, with the level those words give it: MUST",
        '("must", "shall", a plain statement), SHOULD ("should", "usually", "generally"), MAY ("may", "e.g.", "etc.",',
        "a value left to the device), or ERRATA (a decision of `schemas/ERRATA.md` where the words are ambiguous).",
        "A failed MUST or ERRATA rule fails the check; a failed SHOULD or MAY rule is an *advisory*: reported, never",
        "a failure, never a block on the declaration, unless `--bview-strict`. SECURITY rules are *security",
        "advisories* beyond the spec: the spec's words allow what they find, and they name the provision of ETSI",
        "EN 303 645 or the OWASP IoT Security Verification Standard advising against it (suites/test_security_advisories.py,",
        "marker `security`); a failed one is an advisory always, `--bview-strict` or not. Checks name their rules with",
        '`@pytest.mark.bview_rule("id")`; a fault profile of the reference camera names the rule it breaks, and',
        "every check of that rule must detect it (`docs/FAULTS.md`); a conformant variant (`bview-sim --variant NAME`) names the freedoms it",
        "exercises, and `tests/test_variant_matrix.py` proves that every suite passes against it.",
        "",
        "## Counts",
        "",
        f"- rules: {len(RULES)} ({', '.join(f'{n} {level}' for level, n in by_level.items())})",
        f"- checks naming a rule: {len(named)}",
        f"- fault profiles breaking a rule: {len(joined_faults)}",
        f"- conformant variants: {len(variants)} ({len(joined_variants)} joined to a rule)",
        "",
        "## Rules",
        "",
        "| rule | section | line | level | area | the spec's words | checks | faults | variants |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    return "\n".join(lines) + "\n"
