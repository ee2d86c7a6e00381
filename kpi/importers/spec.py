"""What an importer is: a description of one export format, not code that reads files.

Every platform export is a table with a header somewhere near the top. What differs is the header
vocabulary, the date formats, the preamble and a few flags, so each source module only declares a
:class:`Source`, and one reader (``kpi.importers.reader``) handles all of them. That keeps fixes
(encodings, number formats, line numbers) in one place.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from kpi.importers.dates import COMMON_FORMATS
from kpi.measures import Measure

MEASURE_NAMES: frozenset[str] = frozenset(m.value for m in Measure)

#: Target fields besides the canonical measures.
DATE = "date"
PERIOD_START = "period_start"
PERIOD_END = "period_end"
PLATFORM = "platform"
ACCOUNT = "account"
CAMPAIGN = "campaign"
CREATOR = "creator"
ITEM = "item"
CURRENCY = "currency"
TEXT_FIELDS: tuple[str, ...] = (PLATFORM, ACCOUNT, CAMPAIGN, CREATOR, ITEM, CURRENCY)
DATE_FIELDS: tuple[str, ...] = (DATE, PERIOD_START, PERIOD_END)

#: An alias ending in this matches a header with a currency code in brackets, e.g. ``(EUR)``.
CURRENCY_SUFFIX = " (*)"
_BRACKETED_CODE = re.compile(r"^(?P<base>.*?)\s*\((?P<code>[a-z]{3})\)$")


@dataclass(frozen=True)
class Preamble:
    """What the lines above the header say: the window the rows cover, and an account name."""

    start: dt.date | None = None
    end: dt.date | None = None
    account: str | None = None


def no_preamble(_lines: Sequence[str]) -> Preamble:
    return Preamble()


def normalise_header(cell: str) -> str:
    """Headers compare case-insensitively, ignoring BOMs, quotes and repeated spaces."""
    return " ".join(cell.replace("\ufeff", "").strip().strip('"').split()).lower()


def is_total_label(cell: str) -> bool:
    """Summary rows: ``Total: ...`` (Google Ads), ``Total`` (LinkedIn), ``Grand total`` (GA4)."""
    text = normalise_header(cell).replace(" :", ":")
    return text in {
        "total",
        "totals",
        "grand total",
        "total général",
        "total general",
    } or text.startswith(("total:", "grand total", "totals:"))


@dataclass(frozen=True)
class HeaderMatch:
    """Where each target field is found in a header row, and a currency named by a header."""

    columns: Mapping[str, int]
    currency: str | None
    #: Every column that identifies an item (``Ad group`` and ``Age``): joined into one name.
    item_parts: tuple[int, ...] = ()
    #: The platform the header reveals, when the source covers several.
    platform: str | None = None


@dataclass(frozen=True)
class Source:
    """One export format.

    ``columns`` maps target fields (canonical measures or the fields above) to header aliases,
    lower-case. ``required`` are the fields that must all be present for a header to be this
    source's; ``signature``, when set, names headers of which one must be present to tell this
    export apart from look-alikes.
    """

    name: str
    summary: str
    columns: Mapping[str, tuple[str, ...]]
    required: frozenset[str]
    signature: frozenset[str] = frozenset()
    platform: str | None = None
    date_formats: tuple[str, ...] = COMMON_FORMATS
    preamble: Callable[[Sequence[str]], Preamble] = no_preamble
    #: Rows whose dimension cells are all blank are the export's summary row (Meta Ads Manager).
    blank_dimensions_is_summary: bool = False
    #: Rows are lifetime totals from their start date to the day of export (post-level exports).
    lifetime_rows: bool = False
    #: The table ends at the first blank or ``#`` line (GA4 files hold several tables).
    table_ends_at_blank: bool = False
    #: Headers that tell which platform a file comes from (Instagram vs Facebook post exports).
    platform_by_header: Mapping[str, str] = field(default_factory=dict)

    def match(self, cells: Sequence[str], *, platform_given: bool) -> HeaderMatch | None:
        """The column positions of this source's fields in ``cells``, or None if it is not ours."""
        headers = [normalise_header(c) for c in cells]
        if self.signature and not self.signature & set(headers):
            return None
        found: dict[str, int] = {}
        currency: str | None = None
        for target, aliases in self.columns.items():
            position, code = _find(headers, aliases)
            if position is not None:
                found[target] = position
                currency = currency or code
        needed = set(self.required)
        if PLATFORM in needed and platform_given:
            needed.discard(PLATFORM)
        if not needed <= found.keys() or not any(t in MEASURE_NAMES for t in found):
            return None
        item_parts = tuple(
            headers.index(alias) for alias in self.columns.get(ITEM, ()) if alias in headers
        )
        platform = next(
            (name for header, name in self.platform_by_header.items() if header in headers), None
        )
        return HeaderMatch(found, currency, item_parts, platform)

    def recognised_headers(self) -> list[str]:
        """Every header this source understands, for ``kpibot sources``."""
        return [alias for aliases in self.columns.values() for alias in aliases]


def _find(headers: Sequence[str], aliases: tuple[str, ...]) -> tuple[int | None, str | None]:
    for alias in aliases:
        if alias.endswith(CURRENCY_SUFFIX):
            base = alias.removesuffix(CURRENCY_SUFFIX)
            for position, header in enumerate(headers):
                bracketed = _BRACKETED_CODE.match(header)
                if bracketed and bracketed["base"] == base:
                    return position, bracketed["code"].upper()
                if header == base:
                    return position, None
        elif alias in headers:
            return headers.index(alias), None
    return None, None
