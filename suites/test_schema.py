"""Schema conformance: every GET answers its XML block, valid against schemas/<Block>.xsd (spec 6, 9)."""

from __future__ import annotations

import pytest

from pytest_bview import checks
from pytest_bview.cases import Case, cases
from pytest_bview.checks import expect
from pytest_bview.spec.blocks import BLOCKS

pytestmark = [pytest.mark.schema]

# EventList answers only after a subscription (9.9.2): the events suite checks it in context.
NEEDS_CONTEXT = {"/EventsNotification/EventList"}


def _readable(resource, op) -> bool:
    return resource.template not in NEEDS_CONTEXT


@pytest.mark.parametrize("case", cases("GET", blocks_only=True, where=_readable))
@pytest.mark.bview_rule("xml-namespace")
def test_get_matches_schema(bview, case: Case) -> None:
    """6.1.2 / 9.x: the reply is the resource's block and validates against its XSD."""
    ex = bview.client.get(case.url)
    block = case.op.outbound
    expect(
        ex.status == 200, f"answered HTTP {ex.status} {checks.status_text(ex)}", f"200 with <{block}>", case.section, ex
    )
    root = checks.parse_xml(ex, case.section)
    expected = BLOCKS[block].element
    expect(root.tag == expected, f"answered <{root.tag}>", f"the <{expected}> block", case.section, ex)
    problems = checks.schema_errors(root, block)
    expect(
        not problems,
        "answered XML that breaks the schema: " + "; ".join(problems),
        f"<{expected}> valid against schemas/{block}.xsd",
        case.section,
        ex,
    )


def _has_wo(resource, op) -> bool:
    return _readable(resource, op) and bool(BLOCKS[op.outbound].access_paths("wo"))


@pytest.mark.parametrize("case", cases("GET", blocks_only=True, where=_has_wo))
@pytest.mark.bview_rule("password-not-retrieved", "wo-never-returned")
def test_write_only_fields_absent(bview, case: Case) -> None:
    """6.1.2 "wo", 9.1.1.2, 9.1.3, 9.1.6: write-only fields (passwords) never appear in data returned from the
    device; for the DDNS, EMail and FTP passwords the spec says so plainly (a MUST), for the others "should"."""
    ex = bview.client.get(case.url)
    root = checks.parse_xml(ex, case.section)
    block = BLOCKS[case.op.outbound]
    leaked = [path for path in block.access_paths("wo") if root.find(path) is not None]
    checks.expect_passwords_hidden(case.url, leaked, ex)
