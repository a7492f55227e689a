"""The one decoder for command-output text, and helpers the text parsers share.

Customers' files come from ``cmd > file`` (the console OEM code page: 437, 850, 866, 932,
936/GBK, 949), from PowerShell's ``Out-File``/``>`` (UTF-16LE with BOM), from editors (UTF-8,
with or without BOM) and from tools that write the ANSI code page (1252, 1251). Order:

1. a BOM decides (UTF-8, UTF-16LE, UTF-16BE);
2. BOM-less UTF-16 is recognised by its NUL pattern;
3. strict UTF-8;
4. the candidate code pages (:data:`CANDIDATES`), each decoded and scored by how plausible the
   result is (letters of one script, known words of command output, no box-drawing noise);
5. never raises: the best candidate is decoded with ``errors="replace"`` and the number of
   replaced characters is reported.

>>> decode("  TCP    0.0.0.0:3389   0.0.0.0:0   ABH\\x99REN   1668".encode("latin-1")).encoding
'cp850'

Text parsers (``netstat``, ``tasklist``, ``qwinsta``, ``systeminfo``, ``textlog``) use
:func:`split_lines` (line numbers match an editor's, 1-based), :func:`display_width` and
:func:`slice_cols` (console column positions: East Asian wide characters take two cells), and
:func:`read_file` / :func:`sniff_head`, which give every parser the same ``sniff``/``parse``.
"""
from __future__ import annotations

import functools
import os

import re
import unicodedata
from dataclasses import dataclass, replace as _replace
from pathlib import Path
from typing import Callable, Iterator

from .base import ParseOptions, ParseResult, ParseWarning

#: Code pages tried (in this order of preference on a tie) when neither a BOM nor UTF-8 fits.
CANDIDATES = ("cp437", "cp850", "cp866", "cp1252", "cp1251", "gbk", "cp932", "cp949",
              "cp852", "cp857")          # (Central European and Turkish OEM: last, on a tie)

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))

#: Words that occur in command output, in the scripts of the candidate code pages. A decode
#: that produces them is the right one (e.g. cp850 vs cp1252 for German ``ABHÖREN``).
_KNOWN_WORDS = (
    "ABHÖREN", "GESCHLOSSEN", "Verbindungen", "Zustand", "Schließen", "Gerät", "Sitzungsname",
    "État", "Adresse distante", "Dirección", "Conexión", "Sesión", "Nombre", "Código",
    "Активные", "подключения", "Локальный", "адрес", "Внешний", "Состояние", "Имя", "образа",
    "Память", "сеанса", "Прослуш", "Активн", "Разъедин", "Службы", "узла", "Название",
    "映像名称", "会话名", "内存使用", "活动连接", "本地地址", "外部地址", "状态", "服务",
    "イメージ名", "セッション名", "メモリ使用量", "アクティブな接続", "ローカル アドレス", "状態",
    "이미지 이름", "세션 이름", "메모리 사용", "활성 연결", "로컬 주소", "외부 주소", "상태",
)

#: Code pages tried only when the text they decode holds one of their own console words:
#: they make a letter of nearly every byte, so cp850's "Nº" would read "Nž"/"Nğ" and
#: cp1252's "l’utilisateur" "lĺutilisateur" on score alone.
_WORD_GATED: dict[str, tuple[str, ...]] = {
    "cp852": ("połącz", "NASŁUCH", "Nasłuch", "Użycie", "pamięci", "UŻYTKOWNIKA", "URZĄDZENIE",
              "Rozł", "připojení", "NASLOUCHÁNÍ", "Místní", "Cizí adresa", "Využití", "paměti",
              "Külső cím", "Helyi cím", "FIGYELÉS", "Leválasztva"),
    "cp857": ("Bağlantı", "Yabancı", "DİNLENİYOR", "Görüntü", "Oturum Adı", "Kullanımı",
              "Bağlantısı Kesildi"),
}
_KNOWN_WORDS += tuple(w for ws in _WORD_GATED.values() for w in ws)


@dataclass
class Decoded:
    text: str
    encoding: str            # codec name actually used
    bom: bool = False
    replaced: int = 0        # characters that could not be decoded (U+FFFD inserted)


def _utf16_no_bom(data: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the NUL pattern says so (mostly-ASCII UTF-16)."""
    n = min(len(data), 4096) & ~1
    if n < 8:
        return None
    even = data[0:n:2].count(0)
    odd = data[1:n:2].count(0)
    half = n // 2
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


_WORD = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=8192)
def _char_score(ch: str) -> tuple[float, str | None]:
    """(points, script of a letter or None) of one non-ASCII character; a code page has
    few distinct ones, and unicodedata.name per character made a 64 KiB head cost seconds."""
    if ch == "\ufffd":
        return -8, None
    cat = unicodedata.category(ch)
    if cat[0] == "L":
        name = unicodedata.name(ch, "")
        script = name.split(" ", 1)[0] if name else "?"
        if script in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL"):
            script = "EASTASIAN" if script != "HANGUL" else "HANGUL"
        return 1, script
    if cat in ("Zs", "Pd", "Po", "Ps", "Pe", "Pi", "Pf"):
        return 0.2, None
    if 0x2500 <= ord(ch) <= 0x259F or cat in ("So", "Sm", "Sc", "Sk", "Co", "Cc", "Cf", "Cn"):
        return -2, None
    return -0.5, None


def _score(text: str) -> float:
    """Plausibility of a decode: high for letters of one script and known words."""
    score = 0.0
    scripts: dict[str, int] = {}
    for ch in text:
        if ord(ch) < 128:
            continue
        points, script = _char_score(ch)
        score += points
        if script is not None:
            scripts[script] = scripts.get(script, 0) + 1
    # a word mixing ASCII letters with letters of another script ("systщme", "Dom鋘e") is what a
    # wrong code page produces; real text keeps each word in one script
    for m in _WORD.finditer(text):
        w = m.group()
        if w.isascii() or not any(c.isascii() for c in w):
            continue
        if any(not c.isascii() and not unicodedata.name(c, "LATIN").startswith("LATIN")
               for c in w):
            score -= 4
    # inside a word: no symbols ("Dom„ne") and no capital after a small letter ("systÞme")
    for i in range(1, len(text) - 1):
        c = text[i]
        if c.isascii() or c in "\u2019\u00b4":
            continue
        a, b = text[i - 1], text[i + 1]
        if a.isalpha() and b.isalpha():
            if not c.isalpha():
                score -= 3
            elif c.isupper() and a.islower():
                score -= 3
    if scripts:  # text in one script is plausible, a mixture of Latin accents and Cyrillic is not
        main = max(scripts.values())
        score -= 1.5 * (sum(scripts.values()) - main)
    for w in _KNOWN_WORDS:
        if w in text:
            score += 6 * min(text.count(w), 20)
    return score


#: A UTF-16LE line end, and a single-byte one between two non-NUL bytes (never in UTF-16LE).
_U16_CRLF = b"\r\x00\n\x00"
_BYTE_CRLF = re.compile(rb"[^\x00]\r\n(?!\x00)")


def _mixed_parts(data: bytes) -> list[tuple[bytes, bool]] | None:
    """The runs of a file that holds UTF-16LE and single-byte text one after another, as
    (bytes, is UTF-16) — PowerShell's ``>``/``>>`` write UTF-16, cmd.exe's the OEM code
    page, and support scripts mix both into one file — or None for a file in one encoding.
    Runs are cut at line starts."""
    if _U16_CRLF not in data or not _BYTE_CRLF.search(data):
        return None
    pos = 2 if data.startswith(b"\xff\xfe") else 0
    i16 = data.find(_U16_CRLF, pos)
    m = _BYTE_CRLF.search(data, pos)
    utf16 = m is None or (i16 != -1 and i16 < m.start())
    parts: list[tuple[bytes, bool]] = []
    stuck = 0
    while pos < len(data) and stuck < 2:
        if utf16:
            m = _BYTE_CRLF.search(data, pos)
            end = len(data)
            if m:               # the single-byte run starts after the last UTF-16 line end
                k = data.rfind(b"\n\x00", pos, m.start())
                while k != -1 and (k - pos) % 2:
                    k = data.rfind(b"\n\x00", pos, k)
                end = k + 2 if k != -1 else pos
        else:
            i = data.find(_U16_CRLF, pos)
            end = len(data)
            if i != -1:         # the UTF-16 run starts after the last single-byte line end
                k = data.rfind(b"\n", pos, i)
                end = k + 1 if k != -1 else pos
        stuck = stuck + 1 if end == pos else 0
        if end > pos:
            parts.append((data[pos:end], utf16))
        pos = end
        utf16 = not utf16
        if utf16 and data.startswith(b"\xff\xfe", pos):
            pos += 2            # (a BOM where the UTF-16 run begins)
    if pos < len(data):
        parts.append((data[pos:], utf16))
    return parts if len({u for _, u in parts}) == 2 else None


def decode(data: bytes, candidates: tuple[str, ...] = CANDIDATES) -> Decoded:
    """Decode command output of unknown encoding; never raises."""
    parts = _mixed_parts(data)
    if parts:
        texts, encs, replaced = [], [], 0
        for chunk, utf16 in parts:
            d = Decoded(chunk[: len(chunk) & ~1].decode("utf-16-le", errors="replace"),
                        "utf-16-le") if utf16 else decode(chunk, candidates)
            texts.append(d.text)
            encs.append(d.encoding)
            replaced += d.text.count("\ufffd")
        return Decoded("".join(texts), "+".join(dict.fromkeys(encs)),
                       data.startswith(b"\xff\xfe"), replaced)
    for bom, enc in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):] if enc != "utf-8-sig" else data
            if enc.startswith("utf-16") and len(body) % 2 and body.endswith(b"\x1a"):
                body = body[:-1]     # the end-of-file mark `copy /a` appends: not text
            cut = enc.startswith("utf-16") and len(body) % 2
            if cut:                  # half a character at the end: the file was cut there
                body = body[:-1]
            text = body.decode(enc, errors="replace") + ("\ufffd" if cut else "")
            return Decoded(text, enc.replace("-sig", ""), True, text.count("\ufffd"))
    enc16 = _utf16_no_bom(data)
    if enc16:
        body = data[: len(data) & ~1]
        text = body.decode(enc16, errors="replace")
        return Decoded(text, enc16, False, text.count("\ufffd"))
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as e:
        # a multi-byte character cut at the end of a head read is still UTF-8
        if e.start >= len(data) - 3 and e.reason == "unexpected end of data":
            text = data[: e.start].decode("utf-8", errors="replace")
            return Decoded(text, "utf-8")
    sample = _non_ascii_sample(data)
    best: tuple[float, int, str] | None = None
    for i, enc in enumerate(candidates):
        try:
            sample.decode(enc)
            strict_ok = True
        except UnicodeDecodeError:
            strict_ok = False
        except LookupError:
            continue
        decoded = sample.decode(enc, errors="replace")
        gate = _WORD_GATED.get(enc)
        if gate and not any(w in decoded for w in gate):
            continue
        s = _score(decoded) - (0 if strict_ok else 25)
        key = (s, -i, enc)
        if best is None or key[:2] > best[:2]:
            best = key
    enc = best[2] if best else "latin-1"
    text = data.decode(enc, errors="replace")
    return Decoded(text, enc, False, text.count("\ufffd"))


_NON_ASCII = re.compile(rb"[\x80-\xff]")


def _non_ascii_sample(data: bytes, limit: int = 16_384) -> bytes:
    """Lines holding non-ASCII bytes (what distinguishes code pages), up to ``limit`` bytes."""
    out = []
    size = pos = 0
    while size <= limit:
        m = _NON_ASCII.search(data, pos)
        if not m:
            break
        start = data.rfind(b"\n", 0, m.start()) + 1
        end = data.find(b"\n", m.start())
        end = len(data) if end < 0 else end
        # a line longer than the whole sample (binary data, no newlines) is cut to it
        start = max(start, m.start() - 256)
        end = min(end, start + limit - size + 1)
        out.append(data[start:end])
        size += end - start + 1
        pos = end + 1
    return b"\n".join(out)


def decode_head(head: bytes) -> str:
    """Decode the first bytes of a file for sniffing (a cut last character is harmless)."""
    return _decode_head(head).text


@functools.lru_cache(maxsize=4)
def _decode_head(head: bytes) -> Decoded:
    """Every parser's sniffer decodes the same head: once is enough (a bytes object caches
    its own hash, so the lookup is cheap)."""
    return decode(head)


_CTRL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_NUL_RUN = re.compile(rb"\x00{64,}")


def is_text(head: bytes) -> bool:
    """True when ``head`` looks like text in some encoding (not a binary file)."""
    if not head:
        return False
    if any(head.startswith(b) for b, _ in _BOMS) or _utf16_no_bom(head) or _mixed_parts(head):
        return True
    if b"\x00" in head:
        # a zero-filled block (a copy taken while the file was written, a crash) inside
        # text is damage, not a binary file: NULs only in long runs, the rest text
        # (a block that starts near the head's end is a short run at its very end)
        stripped = _NUL_RUN.sub(b"", head).rstrip(b"\x00") if len(head) >= 65536 \
            else _NUL_RUN.sub(b"", head)
        if b"\x00" in stripped or len(stripped) < 64:
            return False
        head = stripped
    text = _decode_head(head).text
    bad = len(_CTRL.findall(text)) + text.count("\ufffd")
    return bad <= max(2, len(text) // 200)


def cut_line(text: str, lines: list[str], file_end: bool | str) -> int | None:
    """Index into ``lines`` of the last line when ``text`` is a file's whole text that ends
    inside a line: Windows ends every line of netstat, tasklist and qwinsta output with CRLF,
    so a last line without one was cut short (a copy taken while written, a truncated
    upload, a size limit) and its last field may be a fragment (PID 16 of 1668).

    Those outputs also begin with a blank line or a blank (``\r\nActive Connections``,
    `` SESSIONNAME``). A text that does not was trimmed (``(netstat -ano | Out-String).Trim()``
    written as it is): its missing last line break says nothing, unless half a UTF-16
    character shows the cut. ``file_end`` is True for a file's whole text, or — for the last
    block of a multi-output file (textlog) — the file's first character, which tells
    whether the file was trimmed."""
    if not file_end or not lines or not lines[-1].strip():
        return None
    if text.rstrip("\x1a").endswith(("\n", "\r")):   # (a CRLF file cut between CR and LF)
        return None
    start = text if file_end is True else str(file_end)
    if not start[:1].isspace() and not text.endswith("\ufffd"):
        return None
    return len(lines) - 1


def split_lines(text: str) -> list[str]:
    """Lines without terminators. Splits on LF only (``\\r`` at the end is dropped), so line
    N is what ``grep -n`` and editors call line N also for ``\\r\\r\\n`` files (a CRLF file
    whose line ends were converted once more). A text with CRs and no LF at all (CR-only line
    ends, from a tool that rewrote the file) is split on CR."""
    if "\n" not in text and "\r" in text.rstrip("\r"):
        return text.split("\r")
    lines = text.split("\n")
    return [ln.rstrip("\r") for ln in lines]


#: A line end of registry and policy text: LF, CRLF, CRLF converted again (``\r\r\n``), or a
#: lone CR (regedit reads one as a line end, and the registry parsers always did).
_ANY_LINE_END = re.compile(r"\r*\n|\r(?!\n)")


def split_any_lines(text: str) -> list[str]:
    """Lines of a ``.reg`` export, ``reg query`` or ``gpresult /z`` text: like
    :func:`split_lines`, and a lone CR inside the text ends a line too."""
    return _ANY_LINE_END.split(text)


# --------------------------------------------------------------------------- columns


def char_width(ch: str) -> int:
    if ch < "\u1100":  # fast path: nothing below U+1100 is wide
        return 1
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(s: str) -> int:
    """Console cells ``s`` takes (CJK characters take two)."""
    if s.isascii():
        return len(s)
    return sum(char_width(c) for c in s)


def col_index(s: str, col: int) -> int:
    """Index into ``s`` of the character that starts at console column ``col`` (or after)."""
    if s.isascii():
        return min(col, len(s))
    w = 0
    for i, c in enumerate(s):
        if w >= col:
            return i
        w += char_width(c)
    return len(s)


def slice_cols(s: str, start: int, end: int | None = None) -> str:
    """``s`` between console columns ``start`` and ``end`` (None: to the end of the line)."""
    i = col_index(s, start)
    j = len(s) if end is None else col_index(s, end)
    return s[i:j]


def runs(line: str, char: str = "=") -> list[tuple[int, int]]:
    """(start, end) console columns of each run of ``char`` in a ruler line."""
    out = []
    for m in re.finditer(re.escape(char) + "+", line):
        start = display_width(line[: m.start()])
        out.append((start, start + (m.end() - m.start())))
    return out


def groups(line: str, gap: int = 2) -> list[tuple[int, int, str]]:
    """Header words separated by ``gap``+ spaces: (start col, end col, text)."""
    out = []
    for m in re.finditer(r"\S+(?: {1,%d}\S+)*" % (gap - 1), line):
        start = display_width(line[: m.start()])
        out.append((start, start + display_width(m.group()), m.group()))
    return out


# --------------------------------------------------------------------------- shared values

#: "not applicable" as tasklist/systeminfo print it, in the languages we know.
NOT_APPLICABLE = frozenset(s.casefold() for s in (
    "N/A", "n/a", "Nicht zutreffend", "Nicht verfügbar", "Non applicable", "Non disponible",
    "N/D", "No disponible", "No aplicable", "Н/Д", "Н/д", "Нет данных", "Не применимо", "不适用",
    "暂缺", "没有", "該当なし", "なし", "N/A", "해당 없음", "없음", "Não Aplicável", "N/D",
    "Non applicabile", "Niet van toepassing", "Nie dotyczy", "Yok", "Geçerli Değil",
))


def na(value: str | None) -> str | None:
    """``value`` stripped, or None when empty / "N/A" in any known language."""
    if value is None:
        return None
    v = value.strip()
    if not v or v.casefold() in NOT_APPLICABLE:
        return None
    return v


_DIGITS = re.compile(r"\d+")


def parse_int(value: str | None) -> int | None:
    """An integer with any thousands separator (``55,928 K``, ``27.296 K``, ``1 234 Ko``)."""
    if value is None:
        return None
    parts = _DIGITS.findall(value)
    if not parts:
        return None
    digits = "".join(parts)
    if len(digits) > 18:         # no count or size a Windows command prints: rows run together
        return None
    try:
        return int(digits)
    except ValueError:
        return None


# --------------------------------------------------------------------------- file plumbing


def sniff_head(head: bytes, sniff_text: Callable[[str], bool]) -> bool:
    """Shared ``sniff``: binary files are not ours; otherwise decode and ask ``sniff_text``."""
    if not head or not is_text(head):
        return False
    return bool(sniff_text(decode_head(head)))


def read_file(path: Path, options: ParseOptions | None = None) -> tuple[Decoded, list[ParseWarning], int]:
    """Read and decode a text file within ``options.max_text_bytes``: (decoded, warnings, bytes).

    The read is sized from the file (never a buffer of the limit's size)."""
    options = options or ParseOptions()
    warnings: list[ParseWarning] = []
    limit = min(options.max_bytes, options.max_text_bytes)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        data = fh.read(min(size, limit) + 1)
    if len(data) > limit:
        data = data[:limit]
        warnings.append(ParseWarning(str(path), f"offset {limit}",
                                     f"text file larger than {limit} bytes; rest not read"))
    dec = decode(data)
    text = dec.text
    if dec.replaced:
        warnings.append(ParseWarning(str(path), f"line {line_at(text, text.find(chr(0xFFFD)))}",
                                     f"{dec.replaced} undecodable characters replaced (decoded "
                                     f"as {dec.encoding}; the first on this line)"))
    if "\x00" in text:
        # zero-filled blocks (a copy taken while the file was written, a crash): the text
        # around them is read, the zeros said and dropped
        nul = text.count("\x00")
        warnings.append(ParseWarning(str(path), f"line {line_at(text, text.find(chr(0)))}",
                                     f"{nul} zero characters (a zero-filled block: the file was "
                                     "copied while written, or damaged); dropped, the lines "
                                     "around them may be incomplete"))
        text = text.replace("\x00", "")
        dec = _replace(dec, text=text)
    glued = [m.start() for m in _GLUED.finditer(text)] if "\n" in text else []
    if glued:                    # a lone CR inside a line: rows written over one another
        warnings.append(ParseWarning(
            str(path), f"line {line_at(text, glued[0])}",
            f"{len(glued)} carriage return(s) inside lines (rows run together); what follows "
            "one on its line may not be read"))
    return dec, warnings, len(data)


def line_at(text: str, pos: int) -> int:
    """The 1-based line (LF-counted, as :func:`split_lines`) of offset ``pos`` in ``text``."""
    return text.count("\n", 0, max(pos, 0)) + 1


#: A CR that ends no line: not before LF, nor one of the CRs of a CRLF converted again, nor
#: the last character (a CRLF file cut between its CR and LF).
_GLUED = re.compile(r"\r(?=[^\r\n])")


def parse_file(path: Path, options: ParseOptions | None,
               parse_text: Callable[..., ParseResult], *, kind: str) -> ParseResult:
    """Shared ``parse`` for text parsers: decode, then ``parse_text``. When the file holds
    command outputs of other kinds too (a ``diag.log`` whose head looked like one format),
    the whole file goes through :mod:`parsers.textlog` so no block is lost."""
    dec, warns, nbytes = read_file(path, options)
    from . import qwinsta, textlog  # late import: textlog imports the format parsers

    source = str(path)
    lines = split_lines(dec.text)
    found = textlog.find_blocks(lines)
    if len({b.kind for b in found} - {kind}) > 0 or (kind == "qwinsta" and qwinsta.tables_apart(
            lines, [(b.start, b.end) for b in found if b.kind == kind])):
        # (a quser and a qwinsta output apart from each other: textlog judges whether they
        # are one capture, whose sessions are one row each)
        res = textlog.parse_text(dec.text, source, options)
    else:
        res = parse_text(dec.text, source, options)
    res.warnings[:0] = warns
    res.stats.setdefault("encoding", dec.encoding)
    res.stats["bytes_read"] = nbytes
    return res


def iter_numbered(lines: list[str], line_offset: int = 0) -> Iterator[tuple[int, str]]:
    """(1-based line number in the original file, line)."""
    for i, ln in enumerate(lines, 1):
        yield i + line_offset, ln
