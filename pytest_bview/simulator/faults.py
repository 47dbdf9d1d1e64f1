"""Named fault profiles: deliberate deviations from the spec, one rule each.

Rule 1: a fault is declared next to the code it breaks, with `declare(...)` at import time,
        and consulted there with `faults.on(NAME)`; nothing else knows about it.
Rule 2: each fault names the spec section and the rule of pytest_bview/spec/rules.py it breaks (`breaks`), and
        optionally the cases where it shows (spec-level labels: "PUT /Images/1/Color", "everyday"); the camera
        never names a check. The checks that must detect it are the ones naming that rule, joined in
        pytest_bview/testing/matrix.py; tests/test_fault_matrix.py proves every pairing.
Rule 3: no fault switched on means a conformant camera.
Rule 4: this module is the registry only and imports nothing of the camera; the whole list is `catalog.py`
        (above the camera, which imports every area).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    section: str  # the spec section the fault breaks
    doc: str  # what the faulty camera does
    rule: str  # the rule it breaks (spec/rules.py); "" for a hostile profile, which attacks the client instead
    cases: tuple[str, ...] = ()  # where it shows, as the checks' cases are labelled; () wherever the rule is checked
    hostile: bool = False  # attacks the client rather than breaking one rule
    rig: str = ""  # "netns": only observable on a real network (a DHCP server): proven by that rig's test


REGISTRY: dict[str, Fault] = {}


def declare(
    name: str,
    section: str,
    doc: str,
    breaks: str = "",
    cases: Iterable[str] = (),
    *,
    hostile: bool = False,
    rig: str = "",
) -> str:
    """Register a fault profile; returns its name so modules can keep it in a constant."""
    from pytest_bview.spec.rules import rule

    if name in REGISTRY and REGISTRY[name].section != section:
        raise ValueError(f"fault {name!r} declared twice")
    if not hostile:
        rule(breaks)  # an unknown rule id is an error at import, not a silent gap in the matrix
    REGISTRY[name] = Fault(name, section, doc, breaks, tuple(cases), hostile, rig)
    return name


class Faults:
    """The set of faults switched on for one camera."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        names = tuple(names)
        unknown = [n for n in names if n not in REGISTRY]  # a camera (camera.py) has declared them all
        if unknown:
            raise ValueError(f"unknown fault profile(s): {', '.join(unknown)} (see bview-sim --list-faults)")
        self.names = frozenset(names)

    def on(self, name: str) -> bool:
        if name not in REGISTRY:  # a typo in the simulator must not silently mean "off"
            raise KeyError(f"fault {name!r} was never declared")
        return name in self.names

    def __bool__(self) -> bool:
        return bool(self.names)

    def __repr__(self) -> str:
        return f"Faults({sorted(self.names)!r})"
