"""chglogon: `change logon /query` output — the confirmed "Session logins are currently
ENABLED|DISABLED" sentence, drain and Group Policy lines known by their words, CRLF and
UTF-16LE files, a file cut inside its line, look-alikes, and the line inside a diag log.

Lines are written as the command prints them (sources in parsers/chglogon.py's docstring:
the ENABLED sentence is quoted verbatim by scripts that compare `chglogon /query` output with
it; the drain and Group Policy wordings are reported, not confirmed, and read by keywords).
"""
from __future__ import annotations

import orjson
import pytest

import parsers
from parsers import chglogon, textlog

ENABLED = "Session logins are currently ENABLED"
DISABLED = "Session logins are currently DISABLED"
DRAIN = "New user logons are DISABLED, but reconnections to existing sessions are ENABLED"
DRAIN_RESTART = ("New user logons are DISABLED until the server is restarted, but "
                 "reconnections to existing sessions are ENABLED")
GP_ENABLED = "Connections are currently ENABLED by Group Policy for this machine, unable to change."
GP_DISABLED = ("Connections are currently DISABLED by Group Policy for this machine, unable to "
               "change.")


def states(res) -> list[dict]:
    return [orjson.loads(d) for d in res.frame["data"]]


@pytest.mark.parametrize("line, state, gp, form", [
    (ENABLED, "enabled", False, "sentence"),
    (DISABLED, "disabled", False, "sentence"),
    (ENABLED + ".", "enabled", False, "sentence"),
    (DRAIN, "drain", False, "keywords"),
    (DRAIN_RESTART, "drain-until-restart", False, "keywords"),
    (GP_ENABLED, "enabled", True, "keywords"),
    (GP_DISABLED, "disabled", True, "keywords"),
])
def test_each_wording_is_read_from_a_crlf_file(tmp_path, line, state, gp, form):
    p = tmp_path / "logon.txt"
    p.write_bytes(f"{line}\r\n".encode("cp437"))
    assert parsers.identify(p.read_bytes(), "notes.txt") is chglogon
    res = chglogon.parse(p)
    assert res.warnings == []
    f = res.frame
    assert list(f["kind"]) == ["chglogon"] and list(f["event_type"]) == ["chglogon:state"]
    assert f["time"].isna().all() and f["host"].isna().all()
    assert list(f["locator"]) == ["line 1"] and list(f["message"]) == [line]
    d = states(res)[0]
    assert (d["state"], d["group_policy"], d["form"], d["text"], d["cut"]) == \
        (state, gp, form, line, False)


def test_utf16le_with_prompt_around_it(tmp_path):
    """PowerShell's `chglogon /query > out.txt` writes UTF-16LE with a BOM; a support
    script echoes the command before it."""
    p = tmp_path / "out.txt"
    text = "C:\\Windows\\system32>change logon /query\r\n" + DISABLED + "\r\n\r\n"
    p.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    assert parsers.identify(p.read_bytes()[:65536], "out.txt") is chglogon
    res = chglogon.parse(p)
    assert res.warnings == [] and res.stats["encoding"].lower().startswith("utf")
    assert [d["state"] for d in states(res)] == ["disabled"]
    assert list(res.frame["locator"]) == ["line 2"]


def test_a_file_cut_inside_its_line(tmp_path):
    p = tmp_path / "cut.txt"
    # inside the state word: not read, said
    p.write_bytes(b"Session logins are currently DISAB")
    res = chglogon.parse(p)
    assert len(res.frame) == 0 and "ends inside this line" in res.warnings[0].message
    # the sentence's state word whole: read, with a warning (a Group Policy note may be gone)
    p.write_bytes(DISABLED.encode())
    res = chglogon.parse(p)
    assert [(d["state"], d["cut"]) for d in states(res)] == [("disabled", True)]
    assert "may be missing" in res.warnings[0].message
    # a drain line cut after DISABLED would read as disabled: not read
    p.write_bytes(b"New user logons are DISABLED, but reconnections to existing sessions are")
    res = chglogon.parse(p)
    assert len(res.frame) == 0 and "not read" in res.warnings[0].message
    # a whole line with its line break is not "cut"
    p.write_bytes((DRAIN + "\r\n").encode())
    assert [d["cut"] for d in states(chglogon.parse(p))] == [False]


def test_garbage_and_unreadable_lines_are_warnings_not_guesses():
    res = chglogon.parse_text("hello\r\nworld\r\n", "x.txt", file_end=True)
    assert len(res.frame) == 0 and "no `change logon /query` output" in res.warnings[0].message
    # a line of this output whose state cannot be told: not guessed
    res = chglogon.parse_text("Session logins are currently UNKNOWN\r\n", "x.txt")
    assert len(res.frame) == 0 and "not understood" in res.warnings[0].message
    res = chglogon.parse_text("Session logins are currently ENABLED and DISABLED\r\n", "x.txt")
    assert len(res.frame) == 0 and "not understood" in res.warnings[0].message
    # other lines beside a read one are said, not dropped silently
    res = chglogon.parse_text(ENABLED + "\r\nsomething else\r\n", "x.txt")
    assert len(res.frame) == 1 and "line 2" in res.warnings[0].message


def test_prose_and_other_outputs_are_not_taken_for_it():
    # lower-case states are prose (a runbook), not the command's capitalised state word
    assert not chglogon.sniff_text("If new user logons are disabled, run chglogon /enable.\n")
    assert not chglogon.sniff_text("Logons are currently disabled on this workstation.\n")
    # a long text quoting a keyword-form line is no output of the command
    long = "\n".join(f"line {i} of a transcript" for i in range(30)) + "\n" + DRAIN + "\n"
    assert not chglogon.sniff_text(long)
    net = ("\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        "
           "State           PID\r\n  TCP    0.0.0.0:3389           0.0.0.0:0              "
           "LISTENING       1044\r\n")
    assert parsers.identify(net.encode(), "x.txt") is not chglogon


def test_a_script_status_line_and_lowercase_prose_are_not_taken_for_it():
    """Found by review: "connections are currently" plus a capital state word was enough,
    so a script's fDenyTSConnections check read as logons disabled (a critical finding);
    and prose opening like the sentence was recognised (with a warning)."""
    status = "Checking RDP...\r\nRemote Desktop connections are currently DISABLED\r\n"
    assert not chglogon.sniff_text(status)
    assert chglogon.read_line("Remote Desktop connections are currently DISABLED") is None
    assert parsers.identify(status.encode(), "rdpcheck.txt") is not chglogon
    prose = "Session logins are currently enabled on all hosts, but check the broker.\r\n"
    assert not chglogon.sniff_text(prose)
    # nor one that adds "by Group Policy" without the command's "for this machine, unable
    # to change" (found by the second review)
    assert not chglogon.sniff_text("Remote Desktop connections are currently DISABLED by "
                                   "Group Policy\r\n")
    # the reported Group Policy wording and a file cut in the state word still are
    assert chglogon.sniff_text(GP_ENABLED + "\r\n")
    assert chglogon.sniff_text("\r\nSession logins are currently DIS")


def test_the_line_inside_a_diag_log_keeps_its_line_number():
    net = ("\nActive Connections\n\n  Proto  Local Address          Foreign Address        State"
           "           PID\n  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING"
           "       1044\n\n")
    text = ("===== netstat -ano =====\n" + net + "===== change logon /query =====\n"
            "C:\\>change logon /query\n" + DRAIN_RESTART + "\n\n")
    assert textlog.sniff_text(text)
    assert parsers.identify(text.encode("cp437"), "diag.log") is textlog
    res = textlog.parse_text(text, "diag.log", file_end=True)
    assert res.warnings == []
    assert [b["kind"] for b in res.stats["blocks"]] == ["netstat", "chglogon"]
    row = res.frame[res.frame["event_type"] == "chglogon:state"].iloc[0]
    n = int(row["locator"].split()[1])
    assert text.split("\n")[n - 1] == DRAIN_RESTART
    assert orjson.loads(row["data"])["state"] == "drain-until-restart"
