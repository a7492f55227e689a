"""The timeline's text columns have one dtype, whatever pandas version builds them.

pandas 2.x reads a bare ``"string"`` as Python-backed strings while the event-log loader
builds Arrow-backed ones; the bundle's ``concat`` then failed to unite the categories
("dtype of categories must be the same") on pandas 2.2, the lowest version pyproject.toml
allows — every bundle with an event log and a text output crashed there.
"""
from __future__ import annotations

import pandas as pd

from analyzer import timeline as tl
from parsers.base import TIMELINE_DTYPES, conform

ARROW = pd.StringDtype("pyarrow")


def _part(**cols) -> pd.DataFrame:
    return pd.DataFrame({k: pd.array(v, dtype=d) for k, (v, d) in cols.items()})


def test_conform_gives_python_backed_text_the_timeline_dtype():
    df = conform(_part(message=(["a", None], "string[python]"),
                       host=(["H1", "H1"], "string[python]")))
    for c in ("message", "host", "data"):
        assert df[c].dtype == ARROW, c
        assert df[c].dtype.storage == "pyarrow"
    assert df["message"].tolist()[0] == "a" and pd.isna(df["message"].tolist()[1])


def test_parts_of_both_string_storages_concatenate():
    text = tl.finalize_part(_part(provider=(["netstat"], "string[python]"),
                                  event_type=(["net:listen"], "string[python]"),
                                  host=(["srv1"], "string[python]"),
                                  time=(["2024-01-02T03:04:05Z"], "string[python]")),
                            source="netstat.txt", host="srv1")
    log = tl.finalize_part(_part(provider=(["TermDD", "TermDD"], "string[pyarrow]"),
                                 event_id=([50, 50], "Int32"),
                                 host=(["SRV1", "srv2"], "string[pyarrow]"),
                                 time=(["2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z"],
                                       "string[pyarrow]")),
                           source="System.evtx", host=None)
    df = tl.concat([text, log])
    assert len(df) == 3
    assert df["source"].tolist() == ["System.evtx", "netstat.txt", "System.evtx"]
    assert df["host"].tolist() == ["SRV1", "SRV1", "SRV2"]
    assert df["event_type"].iloc[1] == "net:listen"
    for c in tl.CATEGORICAL:
        assert isinstance(df[c].dtype, pd.CategoricalDtype), c
        assert df[c].cat.categories.dtype == TIMELINE_DTYPES[c], c
