"""parsers.eventcommon: the field → column mapping every event-log reader shares."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from parsers.eventcommon import _split_endpoint, data_message, event_columns, split_endpoint


def test_split_endpoint_forms():
    assert split_endpoint("10.0.0.5") == ("10.0.0.5", None)
    assert split_endpoint("10.0.0.5:51234") == ("10.0.0.5", 51234)
    assert split_endpoint("[10.0.0.5]:51234") == ("10.0.0.5", 51234)
    assert split_endpoint("[::1]:3389") == ("::1", 3389)
    assert split_endpoint("fe80::1%4") == ("fe80::1%4", None)
    assert split_endpoint(" 192.168.1.20 ") == ("192.168.1.20", None)
    assert split_endpoint("WS042") == (None, None)
    assert split_endpoint("10.0.0.5 x") == (None, None)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789.:[]%abfx ", max_size=24))
def test_split_endpoint_fast_path_agrees_with_the_regex(value):
    # the plain-IPv4 shortcut (a busy log carries a million distinct client addresses,
    # more than the cache holds) must give what the general parser gives
    assert split_endpoint(value) == _split_endpoint(value)


def test_event_columns_security_logon_and_wfp():
    cols = event_columns("Microsoft-Windows-Security-Auditing", 4624, {
        "TargetUserSid": "S-1-5-21-1-2-3-1001", "TargetUserName": "alice",
        "TargetDomainName": "CONTOSO", "LogonType": 10, "IpAddress": "10.1.2.3",
        "IpPort": "50123"})
    assert cols == {"user": "CONTOSO\\alice", "sid": "S-1-5-21-1-2-3-1001",
                    "ip": "10.1.2.3", "port": 50123}
    cols = event_columns("Microsoft-Windows-Security-Auditing", 5156, {
        "ProcessID": 912, "SourceAddress": "10.9.8.7", "SourcePort": "3389"})
    assert cols == {"ip": "10.9.8.7"}
    assert event_columns("Microsoft-Windows-Security-Auditing", 4624, {
        "TargetUserName": "-", "IpAddress": "-", "IpPort": "0"}) == {}


def test_event_columns_rcm_params_and_session():
    cols = event_columns("Microsoft-Windows-TerminalServices-RemoteConnectionManager", 1149,
                         {"Param1": "bob", "Param2": "CONTOSO", "Param3": "192.168.7.9"})
    assert cols == {"user": "CONTOSO\\bob", "ip": "192.168.7.9"}
    cols = event_columns("Microsoft-Windows-TerminalServices-LocalSessionManager", 21,
                         {"User": "CONTOSO\\bob", "SessionID": "0x3", "Address": "[::1]:3389"})
    assert cols == {"user": "CONTOSO\\bob", "session_id": 3, "ip": "::1", "port": 3389}


def test_data_message_from_json_text():
    assert data_message("TermDD", 56, '{"param1":"\\\\Device\\\\Termdd","param2":"10.0.0.5"}') \
        == "TermDD 56: param1=\\Device\\Termdd, param2=10.0.0.5"
    assert data_message("X", 1, '{"a":"line\\r\\nnext","n":5}') == "X 1: a=line next, n=5"
    assert data_message(None, None, None) == "? ?"
    long = data_message("P", 2, '{"k":"' + "v" * 500 + '"}')
    assert len(long) == 300 and long.endswith("…")
    # a cut text that escapes and whitespace runs shrink below the limit is still marked
    shrunk = data_message("P", 2, '{"k":"' + "a\\n   " * 80 + '"}')
    assert len(shrunk) < 300 and shrunk.endswith("…")
    assert data_message("P", 2, '{"k":"a\\n   b"}') == "P 2: k=a b"


def test_termdd_56_client_address_fills_the_ip_column():
    # KNOWLEDGE.md E02: unnamed Data[0] = \Device\Termdd, Data[1] = the client's address
    cols = event_columns("TermDD", 56, {"param1": "\\Device\\Termdd", "param2": "203.0.113.7"})
    assert cols == {"ip": "203.0.113.7"}
    assert event_columns("TermDD", 50, {"param1": "\\Device\\Termdd", "param2": "X.224"}) == {}
    assert event_columns("TermDD", 56, {"param1": "\\Device\\Termdd", "param2": "-"}) == {}
