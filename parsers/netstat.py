"""Placeholder: the netstat parser is being written (see the open issues). Recognises nothing yet."""
from __future__ import annotations

from pathlib import Path

from .base import NotMyFormat, ParseOptions, ParseResult, ParserInfo

INFO = ParserInfo(name="netstat", kind="netstat", description="not implemented yet", sniffs="nothing yet")


def sniff(head: bytes, name: str = "") -> bool:
    return False


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    raise NotMyFormat("netstat parser not implemented yet")
