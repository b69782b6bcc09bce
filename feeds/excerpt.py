"""At most a few hundred characters of the seller's input, when a reason quotes it.

A reason is read by a person in a report, a log line or a terminal. A cell or header can
be 70 KiB (or a megabyte) long, and echoing it whole buries the reason, bloats every log
line and report, and hands whatever the file holds to every place that prints reasons.
Stdlib only: the sandboxed sheet reader uses it too.
"""

from __future__ import annotations

#: The most characters of input a reason quotes.
EXCERPT_CHARS = 200


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` itself when short, else its start and an ellipsis saying how much is left."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the last an ellipsis when cut: for a
    place with a fixed width (a stored error, a quoted file name), where excerpt's count of
    what is left would itself overflow it."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
