"""Which text encoding a seller's file is in, decided on evidence and said out loud.

Guessing wrong silently turns "Société Générale Livraisons" into mojibake on a label
Amazon shows the buyer, so the order is: a byte-order mark says it; else the whole file
decoding as strict UTF-8 says it; else the bytes 0x80-0x9F decide between Windows-1252
(where they are € ‚ „ … ‘ ’ “ ” – —) and Latin-1 (where they are control characters no
one types); charset-normalizer is consulted only for what neither covers (UTF-16 without
a mark, or a non-Western code page).
"""

from __future__ import annotations

import codecs
from typing import BinaryIO

from feeds.errors import FileRejected

_BLOCK = 1 << 20
# Bytes 0x80-0x9F that Windows-1252 leaves undefined: their presence rules it out.
_CP1252_UNDEFINED = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
_C1 = bytes(range(0x80, 0xA0))
_NOT_C1 = bytes(b for b in range(256) if b not in _C1)
_WESTERN = ("cp1252", "latin_1", "iso8859_1", "iso8859_15", "ascii", "utf_8", "cp1250")


def detect_encoding(stream: BinaryIO, name: str = "the file") -> str:
    """Return a Python codec name for the stream's text; the stream is left at 0.

    Reads the stream once, in blocks, so a large file costs time but no memory.
    """
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) and len(head) == 4:
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"

    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    c1_seen: set[int] = set()
    sample = b""
    nul = 0
    while block := stream.read(_BLOCK):
        if not sample:
            sample = block[: 64 * 1024]
        nul += block.count(0)
        if block.isascii() and not decoder.getstate()[0]:
            continue  # valid UTF-8 as it stands, no C1 byte: nothing to decode (C speed)
        if utf8_ok:
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                utf8_ok = False
        c1_seen.update(block.translate(None, _NOT_C1))
    stream.seek(0)
    if utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    if utf8_ok and not nul:
        return "utf-8"

    if nul:
        # UTF-16 without a mark: an order file's ids, dates and tracking numbers are ASCII,
        # a zero byte in every other one. A few stray NULs in 8-bit text are not UTF-16:
        # read as UTF-16 they make a reason of CJK mojibake instead of saying what is wrong.
        if sample.count(0) * 10 < len(sample):
            raise FileRejected(
                name,
                f"the file contains {nul:,} NUL (zero) bytes, which no text or spreadsheet "
                "export holds; it is damaged or not the shipped-orders file",
                hint="export it again as CSV or XLSX",
            )
        guess = _charset_normalizer(sample)
        if guess and guess.startswith("utf_16"):
            return "utf-16-le" if guess.endswith("le") or _looks_le(sample) else "utf-16-be"
        if _looks_le(sample):
            return "utf-16-le"
        raise FileRejected(
            name,
            "the file contains binary data and is not a spreadsheet or text file",
            hint="export it as CSV or XLSX",
        )

    if c1_seen:
        if c1_seen & _CP1252_UNDEFINED:
            return "latin-1"
        return "cp1252"
    guess = _charset_normalizer(sample)
    if guess and guess not in _WESTERN and not guess.startswith(("iso8859", "cp125", "mac")):
        return guess
    # Without any 0x80-0x9F byte, Windows-1252 and Latin-1 read every byte the same;
    # Latin-1 is the narrower claim.
    return "latin-1"


def _looks_le(sample: bytes) -> bool:
    """ASCII text in UTF-16-LE has its zero bytes at odd offsets."""
    odd = sample[1::2].count(0)
    even = sample[0::2].count(0)
    return odd > even


def _charset_normalizer(sample: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return best.encoding if best is not None else None
