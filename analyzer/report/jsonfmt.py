"""JSON: the canonical output, exactly the contract of ../shared/KNOWLEDGE.md Part A.

``render(result)`` returns the JSON text of ``result.report.to_dict()`` — ``tool``,
``bundle``, ``hosts``, ``findings`` (id, severity, host, title, summary, evidence, remedy,
references; plus ``explained_by`` / ``explains`` / ``evidence_total`` / ``details`` when
set), ``checks``, ``inventory``, ``warnings`` (and the added ``accounting``). Deterministic:
no "now" timestamps, lists in the engine's order.
"""
from __future__ import annotations

from typing import Any

import orjson

from . import common


def _default(o):
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if hasattr(o, "item"):
        return o.item()
    return str(o)


def render(result: Any) -> str:
    rep = common.report_of(result)
    return orjson.dumps(rep.to_dict(), default=_default,
                        option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"
