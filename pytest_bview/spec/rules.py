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
        (`python -m pytest_bview.spec.rules --markdown > docs/RULES.md`; `--check` in CI).
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
    # -- 9.1 network ------------------------------------------------------------------------------------------------
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
    # -- 9.2 system -------------------------------------------------------------------------------------------------
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
        "device-identity",
        "9.2.4",
        1295,
        "<DeviceTypeName><!--ro,req,xs:string-->, <SerialNum>, <HardWareVersion>, <SoftWareVersion> "
        "<!--ro,req,xs:string-->: the device's own strings.",
        MAY,
        "system",
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
        "users-many",
        "9.2.12",
        1529,
        "'N' corresponds to the user <ID> +1, so to get the data for user 6, N is 7.",
        MAY,
        "security",
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
    # -- 9.4 streams ------------------------------------------------------------------------------------------------
    Rule(
        "capability-resolutions-accepted",
        "9.4.1.2",
        1778,
        "Resolution and frame rate ranges refer to the <StreamCapability>",
        MUST,
        "streams",
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

    `faults` maps a fault name to an object with `detected_by` (test ids); a fault is listed under a rule when
    it is detected by one of the rule's checks. `variants` maps a variant name to an object with `rules`.
    """
    checks = checks_by_rule(root)

    def detects(fault: Any, check: str) -> bool:
        return any(d == check or d.startswith(check + "[") for d in fault.detected_by)

    def cell(items: list[str]) -> str:
        return "<br>".join("`" + i.replace("|", PIPE) + "`" for i in items) or "—"

    rows = []
    joined_faults: set[str] = set()
    joined_variants: set[str] = set()
    for r in RULES.values():
        mine = checks.get(r.id, [])
        fs = sorted(n for n, f in faults.items() if any(detects(f, c) for c in mine))
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
        "Generated by `python -m pytest_bview.spec.rules --markdown > docs/RULES.md` from `pytest_bview/spec/rules.py`;",
        "do not edit by hand (`python -m pytest_bview.spec.rules --check` fails in CI when they disagree).",
        "",
        "A rule is the spec's own words at a line of the spec text, with the level those words give it: MUST",
        '("must", "shall", a plain statement), SHOULD ("should", "usually", "generally"), MAY ("may", "e.g.", "etc.",',
        "a value left to the device), or ERRATA (a decision of `schemas/ERRATA.md` where the words are ambiguous).",
        "A failed MUST or ERRATA rule fails the check; a failed SHOULD or MAY rule is an *advisory*: reported, never",
        "a failure, never a block on the declaration, unless `--bview-strict`. SECURITY rules are *security",
        "advisories* beyond the spec: the spec's words allow what they find, and they name the provision of ETSI",
        "EN 303 645 or the OWASP IoT Security Verification Standard advising against it (suites/test_security_advisories.py,",
        "marker `security`); a failed one is an advisory always, `--bview-strict` or not. Checks name their rules with",
        '`@pytest.mark.bview_rule("id")`; a fault profile is listed under a rule when one of the rule\'s checks',
        "detects it (`docs/FAULTS.md`); a conformant variant (`bview-sim --variant NAME`) names the freedoms it",
        "exercises, and `tests/test_variant_matrix.py` proves that every suite passes against it.",
        "",
        "## Counts",
        "",
        f"- rules: {len(RULES)} ({', '.join(f'{n} {level}' for level, n in by_level.items())})",
        f"- checks naming a rule: {len(named)}",
        f"- fault profiles joined to a rule through its checks: {len(joined_faults)}",
        f"- conformant variants: {len(variants)} ({len(joined_variants)} joined to a rule)",
        "",
        "## Rules",
        "",
        "| rule | section | line | level | area | the spec's words | checks | faults | variants |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    return "\n".join(lines) + "\n"


def _main(argv: list[str]) -> int:
    import sys

    from pytest_bview.simulator.faults import load_all
    from pytest_bview.simulator.variants import VARIANTS

    root = Path(__file__).resolve().parents[2]
    plain = {n: f for n, f in load_all().items() if not f.hostile}  # hostile profiles attack the client, no rule
    text = markdown(root, plain, VARIANTS)
    if argv == ["--markdown"]:
        sys.stdout.write(text)
        return 0
    if argv == ["--check"]:
        published = root / "docs" / "RULES.md"
        if published.exists() and published.read_text("utf-8") == text:
            return 0
        print("docs/RULES.md is not current: python -m pytest_bview.spec.rules --markdown > docs/RULES.md")
        return 1
    print("usage: python -m pytest_bview.spec.rules --markdown | --check")
    return 2


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
