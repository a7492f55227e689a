"""The notebooks run top to bottom, headless, on generated sample data (issue 10).

Each notebook is executed with nbclient on the ``python3`` kernel, which jupyter_client
starts with this very interpreter (``sys.executable``), so the notebooks see the same
installed ``analyzer``. Any cell error fails the test with the cell's traceback. Notebook 01
gets its bundle through ``RDPDOCTOR_BUNDLE`` (the parameter); 02 and 03 generate their own
sample data, as they do for a newcomer who sets nothing.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = ["01-explore-a-bundle.ipynb", "02-batch-trends.ipynb", "03-new-detector.ipynb"]


@pytest.fixture
def sample():
    from analyzer import sample as mod

    return mod


def _execute(path: Path, cwd: Path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()                      # raises CellExecutionError on any cell error
    return nb


def _text(nb) -> str:
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            if o.get("output_type") == "stream":
                out.append(o.get("text", ""))
            elif "data" in o:
                out.append(o["data"].get("text/plain", ""))
    return "\n".join(out)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_stored_clean_and_says_what_it_is_for(name):
    nb = nbformat.read(NB_DIR / name, as_version=4)
    nbformat.validate(nb)
    assert all(not c.get("outputs") and not c.get("execution_count")
               for c in nb.cells if c.cell_type == "code"), "stored with outputs"
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    body = "\n".join(ln for ln in first.source.splitlines() if not ln.startswith("#")).strip()
    sentences = re.findall(r"[^.!?]+[.!?](?=\s|$)", body)
    assert len(sentences) == 2, sentences
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "os.environ.get(" in params[0].source


@pytest.mark.slow
def test_01_explore_a_bundle_runs_on_the_given_bundle(sample, tmp_path, monkeypatch):
    bundle = Path(sample.write_bundle("certificate-corruption", tmp_path / "ticket-4711.zip", seed=3))
    monkeypatch.setenv("RDPDOCTOR_BUNDLE", str(bundle))
    nb = _execute(NB_DIR / "01-explore-a-bundle.ipynb", tmp_path)
    text = _text(nb)
    assert str(bundle) in text                              # the parameter was used
    assert "certificate-corruption" in text                 # its finding was shown
    assert any(o.get("data", {}).get("image/png") for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.slow
def test_02_batch_trends_runs_on_generated_batch(sample, tmp_path, monkeypatch):
    monkeypatch.delenv("RDPDOCTOR_BATCH_OUTDIR", raising=False)
    nb = _execute(NB_DIR / "02-batch-trends.ipynb", tmp_path)
    text = _text(nb)
    assert "port-conflict" in text and "rdp-disabled" in text


@pytest.mark.slow
def test_03_new_detector_runs_and_registers_its_detector(sample, tmp_path, monkeypatch):
    monkeypatch.delenv("RDPDOCTOR_BUNDLE", raising=False)
    nb = _execute(NB_DIR / "03-new-detector.ipynb", tmp_path)
    assert "sessions-end-at-logon" in _text(nb)
