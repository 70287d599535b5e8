"""Scan files for planted identifiers: the end-to-end privacy test plants known e-mails and phone numbers,
runs the pipeline, and asserts that no file it left behind (ledger DB, reports, logs, XCom dumps) holds any
of them in any common encoding.

Files are read as raw bytes (so SQLite databases, journals and binaries are covered). Each chunk is looked
at in several decoded views, all lower-cased: as is, with JSON `\\uXXXX` escapes decoded (`\\u0040` is
'@'), with URL `%XX` escapes decoded (`%40`, `%2B`), and with HTML character references decoded (`&#64;`,
`&#x40;`). The lower-cased needle is searched in each view, as UTF-8 and as UTF-16 (LE/BE), and a
phone-like needle also as bare digits without the '+'. A hit names the file and the needle's INDEX, never
the needle: the scanner's own output must not leak what it looks for.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 4 * 1024 * 1024
_JSON_ESCAPE = re.compile(rb"\\u([0-9a-fA-F]{4})")
_URL_ESCAPE = re.compile(rb"%([0-9a-fA-F]{2})")
_HTML_DECIMAL = re.compile(rb"&#([0-9]{1,7});")
_HTML_HEX = re.compile(rb"&#[xX]([0-9a-fA-F]{1,6});")


@dataclass(frozen=True, order=True)
class Hit:
    path: Path
    needle_index: int
    encoding: str
    offset: int  # offset in the decoded view the needle was found in (exact for `plain`)


def _char(code: int) -> bytes:
    try:
        return chr(code).encode("utf-8", "surrogatepass")
    except (ValueError, OverflowError):
        return b"?"


_VIEWS: dict[str, Callable[[bytes], bytes]] = {
    "plain": lambda data: data,
    "json_escaped": lambda data: _JSON_ESCAPE.sub(lambda m: _char(int(m.group(1), 16)), data),
    "url_encoded": lambda data: _URL_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data),
    "html_escaped": lambda data: _HTML_HEX.sub(
        lambda m: _char(int(m.group(1), 16)), _HTML_DECIMAL.sub(lambda m: _char(int(m.group(1))), data)
    ),
}


def needle_patterns(needle: str) -> dict[str, bytes]:
    """Byte patterns for one needle, searched in every lower-cased view."""
    if not needle:
        raise ValueError("needles: an empty needle would match everything")
    lowered = needle.lower()
    patterns = {
        "utf8": lowered.encode("utf-8"),
        "utf16le": lowered.encode("utf-16-le"),
        "utf16be": lowered.encode("utf-16-be"),
    }
    digits = re.sub(r"\D", "", needle)
    if re.fullmatch(r"\+?[\d\s().\-]+", needle) and len(digits) >= 7:
        patterns["digits"] = digits.encode("ascii")
    return patterns


def _files(paths: Iterable[str | os.PathLike]) -> Iterable[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path


def scan_paths(paths: Iterable[str | os.PathLike], needles: Iterable[str]) -> list[Hit]:
    """The first occurrence per file, needle and encoding of any needle in any file under `paths`.
    Directories are walked recursively; missing paths are skipped (a scan of nothing finds nothing, so
    callers that expect a file should assert that it exists)."""
    patterns = [
        (index, name, pattern)
        for index, needle in enumerate(needles)
        for name, pattern in needle_patterns(needle).items()
    ]
    # escapes are up to 6 bytes per character: keep enough of the previous chunk to span a split needle
    overlap = 8 * max((len(p) for _, _, p in patterns), default=1)
    hits: list[Hit] = []
    for path in _files(paths):
        found: dict[tuple[int, str], int] = {}
        with path.open("rb") as handle:
            base, tail = 0, b""
            while chunk := handle.read(_CHUNK):
                data = tail + chunk
                for view_name, decode in _VIEWS.items():
                    view = decode(data).lower()
                    for index, pattern_name, pattern in patterns:
                        encoding = pattern_name if view_name == "plain" else f"{view_name}/{pattern_name}"
                        if (index, encoding) in found:
                            continue
                        position = view.find(pattern)
                        if position >= 0:
                            found[(index, encoding)] = base - len(tail) + position
                tail = data[-overlap:]
                base += len(chunk)
        hits.extend(Hit(path, index, encoding, offset) for (index, encoding), offset in found.items())
    return sorted(hits)
