"""A rendered Slack message as terminal text, so ``kpibot ask`` shows what Slack would show.

Reading the blocks, rather than the answer, keeps a single render path: what the terminal
prints is what the templates produced. Buttons mean nothing in a terminal and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.rendering import Message

_FENCE = "```"


def unescape(text: str) -> str:
    """``&amp;`` goes last, so that an escaped ``&lt;`` (``&amp;lt;``) stays ``&lt;``."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _lines(text: str) -> Iterator[str]:
    """Code fences dropped and a wholly bold line made plain: a terminal has neither."""
    for raw in text.splitlines():
        if raw.strip() == _FENCE:
            continue
        line = raw.removeprefix(_FENCE).removesuffix(_FENCE)
        bold = len(line) > 2 and line.startswith("*") and line.endswith("*")
        yield line[1:-1] if bold and "*" not in line[1:-1] else line


def _block(block: dict[str, Any]) -> Iterator[str]:
    kind = block.get("type")
    if kind == "header":
        heading = block["text"]["text"]
        yield heading
        yield "─" * len(unescape(heading))
    elif kind == "section":
        if "text" in block:
            yield from _lines(block["text"]["text"])
        for field in block.get("fields", ()):
            yield from _lines(field["text"])
    elif kind == "context":
        for element in block["elements"]:
            if "text" in element:
                yield from _lines(element["text"])


def to_text(message: Message) -> str:
    """Header, section texts and fields, tables and context lines, unescaped, in block order."""
    return unescape("\n".join(line for block in message.blocks for line in _block(block)))
