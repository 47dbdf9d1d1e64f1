"""Parametrization from the spec table: one case per concrete resource-method, ids like the spec.

@pytest.mark.parametrize("case", cases("GET", blocks_only=True))
def test_get_matches_schema(bview, case): ...        # ids: "GET /Images/1/Color"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.resources import RESOURCES, Instances, Op, Resource

DEFAULT_INSTANCES = Instances()


@dataclass(frozen=True)
class Case:
    resource: Resource
    op: Op
    url: str

    @property
    def id(self) -> str:
        return f"{self.op.method} {self.url}"

    @property
    def section(self) -> str:
        return self.resource.section

    def __str__(self) -> str:
        return self.id


def tier(resource: Resource, op: Op) -> str:
    if resource.has("disruptive") and op.method != "GET":
        return "disruptive"
    return "readonly" if op.method == "GET" else "reversible"


def cases(
    *methods: str,
    where: Callable[[Resource, Op], bool] = lambda r, o: True,
    blocks_only: bool = False,
    instances: Instances = DEFAULT_INSTANCES,
) -> list[pytest.param]:  # type: ignore[valid-type]
    out = []
    for r in RESOURCES:
        for op in r.ops:
            if methods and op.method not in methods:
                continue
            payload = op.outbound if op.method == "GET" else op.inbound
            if blocks_only and payload not in BLOCKS.blocks:
                continue
            if not where(r, op):
                continue
            for url in instances.expand(r):
                case = Case(r, op, url)
                marks = [getattr(pytest.mark, tier(r, op))]
                if r.area:
                    marks.append(getattr(pytest.mark, r.area))
                if r.has("wireless"):
                    marks.append(pytest.mark.wireless)  # features.py: "not supported" without a WiFi card
                out.append(pytest.param(case, id=case.id, marks=marks))
    return out
