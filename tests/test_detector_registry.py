"""Convention meta-test: every detector is registered, self-describing and tested."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyzer.detectors import INPUTS, PRIORITY, REGISTRY, ROOT_CAUSES, load_all
from analyzer.findings import SEVERITIES

load_all()
TESTS = Path(__file__).parent
KNOWLEDGE = TESTS.parents[1] / "shared" / "KNOWLEDGE.md"


def part_a() -> dict[str, str]:
    """id → severity from the finding catalogue table of KNOWLEDGE.md Part A."""
    if not KNOWLEDGE.is_file():
        pytest.skip("../shared/KNOWLEDGE.md not found")
    text = KNOWLEDGE.read_text(encoding="utf-8").split("## Output contract")[0]
    return {m.group(1): m.group(2) for m in
            re.finditer(r"^\| `([a-z0-9-]+)` \| [^|]+ \| (critical|error|warning|info) \|", text,
                        re.MULTILINE)}


def test_every_part_a_id_is_registered_with_its_severity():
    cat = part_a()
    assert len(cat) >= 24
    for i, sev in cat.items():
        assert i in REGISTRY, f"Part A id {i} has no detector"
        assert REGISTRY[i].severity == sev, i


@pytest.mark.parametrize("det_id", sorted(REGISTRY))
def test_detector_is_self_describing(det_id):
    d = REGISTRY[det_id]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", d.id)
    assert d.severity in SEVERITIES
    assert d.title and d.title[0].isupper()
    assert d.inputs and all(i in INPUTS or i == "events" for i in d.inputs)
    assert d.references and "KB2477023" in d.references
    assert len(d.doc) > 200, "docstring must explain the failure in a paragraph"
    assert "References:" in d.doc
    for ref in d.references:
        assert ref.split()[0] in d.doc or ref in d.doc, f"{ref} not mentioned in the docstring"


@pytest.mark.parametrize("det_id", sorted(REGISTRY))
def test_detector_has_a_positive_unit_test(det_id):
    src = (TESTS / "test_detectors.py").read_text(encoding="utf-8")
    name = det_id.replace("-", "_")
    tests = re.findall(rf"^def (test_{name}_\w+)\(", src, re.MULTILINE)
    assert tests, f"no unit test for {det_id}"
    # a positive case: the test body calls run("<id>", ...) and asserts a finding
    bodies = re.split(r"^def ", src, flags=re.MULTILINE)
    pos = [b for b in bodies if b.startswith(f"test_{name}_") and f'run("{det_id}"' in b
           and ("len(out) == 1" in b or ".summary" in b or "== [\"" in b or "len(run(" in b)]
    assert pos, f"no positive test for {det_id}"


def test_root_cause_table_and_priority_cover_registered_ids():
    for a, b in ROOT_CAUSES:
        assert a in REGISTRY and b in REGISTRY and a != b
    assert set(PRIORITY) == set(REGISTRY)


def test_ids_are_unique_and_registration_refuses_duplicates():
    from analyzer.detectors import detector

    with pytest.raises(ValueError, match="duplicate"):
        detector(id="port-conflict", severity="critical", title="X", inputs=("netstat",),
                 references=("KB2477023",))(lambda ctx: [])
    with pytest.raises(ValueError, match="severity"):
        detector(id="new-thing", severity="fatal", title="X", inputs=("netstat",),
                 references=("KB2477023",))


def test_every_detector_has_a_one_line_fix_for_explain():
    from analyzer.detectors import FIXES

    assert set(FIXES) == set(REGISTRY)
    assert all(len(v) > 20 and "\n" not in v for v in FIXES.values())
