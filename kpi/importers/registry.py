"""The one registry of sources, and detection of a file's source from its header."""

from __future__ import annotations

from collections.abc import Mapping

from kpi.errors import AmbiguousSourceError, IngestError, UnknownSourceError
from kpi.importers import canonical, ga4, google_ads, linkedin_ads, meta_ads, meta_posts, tiktok_ads
from kpi.importers.reader import Layout
from kpi.importers.spec import Source
from kpi.importers.text import DELIMITERS, Sniffed, split

SOURCES: Mapping[str, Source] = {
    source.name: source
    for source in (
        canonical.SOURCE,
        meta_ads.SOURCE,
        meta_posts.SOURCE,
        tiktok_ads.SOURCE,
        linkedin_ads.SOURCE,
        google_ads.SOURCE,
        ga4.SOURCE,
    )
}


def get(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise UnknownSourceError(
            f"unknown source {name!r}; known sources: {', '.join(SOURCES)}"
        ) from None


def _locate(sniffed: Sniffed, source: Source, *, platform_given: bool) -> Layout | None:
    for index, line in enumerate(sniffed.lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        for delimiter in DELIMITERS:
            if delimiter not in line and len(sniffed.lines) > 1:
                continue
            cells = split(line, delimiter)
            match = source.match(cells, platform_given=platform_given)
            if match is not None:
                return Layout(
                    sniffed=sniffed,
                    source=source,
                    header_index=index,
                    delimiter=delimiter,
                    headers=tuple(cells),
                    match=match,
                    preamble=source.preamble(sniffed.lines[:index]),
                )
    return None


def layout(sniffed: Sniffed, source_name: str | None, *, platform_given: bool) -> Layout:
    """The layout of ``sniffed`` for the named source, or for the one source that fits."""
    if source_name is not None:
        source = get(source_name)
        found = _locate(sniffed, source, platform_given=platform_given)
        if found is None:
            needed = ", ".join(sorted(source.required))
            raise IngestError(
                f"no header row with the columns {source.name} needs ({needed}) in the first "
                f"{len(sniffed.lines)} lines; `kpibot sources` lists the headers it recognises",
                path=sniffed.path,
            )
        return found
    fits = [
        found
        for source in SOURCES.values()
        if (found := _locate(sniffed, source, platform_given=platform_given)) is not None
    ]
    if not fits:
        raise UnknownSourceError(
            f"{sniffed.path}: no source recognises this file's header; name one with --source "
            f"({', '.join(SOURCES)}), or add --platform for a canonical file without a "
            "platform column"
        )
    earliest = min(found.header_index for found in fits)
    fits = [found for found in fits if found.header_index == earliest]
    specific = [found for found in fits if found.source is not canonical.SOURCE]
    # The canonical aliases (with --platform) also fit platform exports; the specific source
    # knows that export's quirks, so it wins.
    fits = specific or fits
    if len(fits) > 1:
        raise AmbiguousSourceError(sniffed.path, [found.source.name for found in fits])
    return fits[0]
