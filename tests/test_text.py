"""The shared decoder and column helpers (parsers.text)."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from parsers import text as T

FIX = Path(__file__).parent / "fixtures" / "text"

RU = "Активные подключения\r\n  Имя    Локальный адрес        Внешний адрес          Состояние       PID\r\n"
DE = "  TCP    0.0.0.0:135            0.0.0.0:0              ABHÖREN         2132\r\nDomäne Gerät\r\n"
FR = "Nom de l’hôte:   SRV\r\n  Proto  Adresse locale         Adresse distante       État\r\n"
ZH = "映像名称                       PID 会话名              会话#       内存使用\r\n"
JA = "イメージ名                     PID セッション名     セッション# メモリ使用量\r\n"
KO = "이미지 이름                    PID 세션 이름              세션#  메모리 사용\r\n"
PL = ("Aktywne połączenia\r\n  Protokół  Adres lokalny    Obcy adres    Stan\r\n"
      "  TCP    0.0.0.0:3389   0.0.0.0:0   NASŁUCHIWANIE   1132\r\n")
TR = ("Etkin Bağlantılar\r\n  Proto  Yerel Adres      Yabancı Adres    Durum\r\n"
      "  TCP    0.0.0.0:3389   0.0.0.0:0   DİNLENİYOR   1132\r\n")
CS = "Aktivní připojení\r\n  TCP    0.0.0.0:3389   0.0.0.0:0   NASLOUCHÁNÍ   1132\r\n"


@pytest.mark.parametrize("text,enc,accept", [
    (RU, "cp866", {"cp866"}), (RU, "cp1251", {"cp1251"}),
    (DE, "cp850", {"cp850", "cp437"}), (DE, "cp1252", {"cp1252"}),
    (FR, "cp1252", {"cp1252"}), (ZH, "gbk", {"gbk"}), (JA, "cp932", {"cp932"}),
    (KO, "cp949", {"cp949"}),
    # OEM code pages of Polish/Czech (852) and Turkish (857) consoles: read as cp437 before,
    # a Turkish "DİNLENİYOR" came out "DŸNLENŸYOR" and no socket was listening
    (PL, "cp852", {"cp852"}), (CS, "cp852", {"cp852"}), (TR, "cp857", {"cp857"}),
    # ... which must not take over western text: they make a letter of nearly every byte
    ("Nome da sessão  Nº da sessão\r\n", "cp850", {"cp850"}),
    ("Nom de l’utilisateur: d’Artagnan, coût 5 €\r\n", "cp1252", {"cp1252"}),
])
def test_legacy_code_pages_are_told_apart(text, enc, accept):
    d = T.decode(text.encode(enc))
    assert d.encoding in accept
    assert d.text == text
    assert d.replaced == 0


@pytest.mark.parametrize("data,enc", [
    (b"\xff\xfe" + "État 3389".encode("utf-16-le"), "utf-16-le"),
    (b"\xfe\xff" + "État 3389".encode("utf-16-be"), "utf-16-be"),
    (b"\xef\xbb\xbf" + "État 3389".encode("utf-8"), "utf-8"),
    ("État 3389 and more text here".encode("utf-16-le"), "utf-16-le"),  # no BOM
    ("État 3389".encode("utf-8"), "utf-8"),
])
def test_bom_and_utf(data, enc):
    d = T.decode(data)
    assert d.encoding == enc
    assert d.text.lstrip("\ufeff") == "État 3389" + (" and more text here" if len(d.text) > 12 else "")


def test_odd_utf16_length_and_cut_utf8_do_not_raise():
    d = T.decode(b"\xff\xfe" + "abc".encode("utf-16-le") + b"\x00\x41\x00")
    assert d.text.startswith("abc")
    # the half character is counted (the file was cut there), at the end of the text
    assert d.replaced == 1 and d.text.endswith("\ufffd")
    d = T.decode("Состояние".encode("utf-8")[:-1])  # head cut inside a character
    assert d.encoding == "utf-8" and d.text == "Состояни"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_decode_never_raises(data):
    d = T.decode(data)
    assert isinstance(d.text, str)
    T.is_text(data)


def test_is_text():
    assert T.is_text(b"\xff\xfe" + "abc".encode("utf-16-le"))
    assert T.is_text("Имя узла:  X\r\n".encode("cp866"))
    assert not T.is_text(b"ElfFile\x00" + bytes(range(0, 40)))
    assert not T.is_text(b"")


def test_split_lines_keeps_editor_line_numbers():
    assert T.split_lines("a\r\nb\r\r\nc\n\nd") == ["a", "b", "c", "", "d"]


def test_display_columns_count_cjk_twice():
    line = "映像名称   PID"
    assert T.display_width("映像名称") == 8
    assert T.slice_cols(line, 11) == "PID"
    assert T.runs("===== === =") == [(0, 5), (6, 9), (10, 11)]
    assert [g[2] for g in T.groups(" SESSIONNAME  NOMBRE DE USUARIO  ID")] == [
        "SESSIONNAME", "NOMBRE DE USUARIO", "ID"]


def test_na_and_numbers():
    assert T.na(" Nicht zutreffend ") is None and T.na("Н/Д") is None and T.na("N/A") is None
    assert T.na(" TermService ") == "TermService"
    assert T.parse_int("55,928 K") == 55928
    assert T.parse_int("27.296 K") == 27296
    assert T.parse_int("1\u202f234 Ko") == 1234
    assert T.parse_int("N/A") is None


def test_fixture_encodings_are_detected():
    expect = {"qwinsta_ru_cp866.txt": {"cp866"}, "systeminfo_ru_cp866.txt": {"cp866"},
              "systeminfo_fr_cp1252.txt": {"cp1252"}, "systeminfo_de_cp850.txt": {"cp850", "cp437"},
              "tasklist_svc_2019_utf16.txt": {"utf-16-le"}}
    for name, encs in expect.items():
        assert T.decode((FIX / name).read_bytes()).encoding in encs, name


def test_a_zero_filled_block_is_damage_in_a_text_file_not_a_binary_file(tmp_path):
    # a copy taken while the file was written: one block of zeros in the first 64 KiB made
    # the whole export "content not recognised", every row gone without a warning (found by
    # review)
    import parsers
    rows = "".join(f"  TCP    0.0.0.0:{p}    0.0.0.0:0    LISTENING    {p}\r\n"
                   for p in range(1000, 1040))
    head = "\r\nActive Connections\r\n\r\n  Proto  Local Address  Foreign Address  State  PID\r\n"
    data = (head + rows).encode() + b"\0" * 4096 + rows.replace("0.0.0.0:1", "0.0.0.0:2").encode()
    p = tmp_path / "netstat.txt"
    p.write_bytes(data)
    mod = parsers.identify(data[:65536], p.name)
    assert mod is not None and mod.INFO.name == "netstat"
    res = mod.parse(p)
    assert len(res.frame) == 80
    w = [x for x in res.warnings if "zero characters" in x.message]
    assert len(w) == 1 and w[0].locator == "line 45" and w[0].message.startswith("4096 zero")
    # a block that starts in the last bytes of the head is a short run at its end (found by
    # review); scattered NULs (a binary file) are still no text
    text = (head + rows * 60).encode()
    assert len(text) > 70000
    assert T.is_text((text[:65536 - 20] + b"\0" * 4096 + text[65536 - 20:])[:65536])
    assert not T.is_text(bytes(range(256)) * 64)
