"""Named domain errors. Interfaces (CLI, Slack) turn these into messages; nothing else is caught."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class KpiError(Exception):
    """Base class of every error a user can act on."""


class ConfigError(KpiError):
    """A configuration file or setting is invalid; the message says what to fix."""


class IngestError(KpiError):
    """An import was refused. Carries the location so that the user can find the bad cell."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        self.reason = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.value = value
        super().__init__(self._describe())

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled by its fields (keyword-only), so it crosses from the reader process intact."""
        fields = (self.reason, self.path, self.line, self.column, self.value)
        return (_ingest_error, fields, self.__dict__)

    def _describe(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.value is not None:
            where.append(f"value {self.value!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def located(self, path: Path | str) -> IngestError:
        """The same error, naming the file it came from."""
        return IngestError(
            self.reason, path=path, line=self.line, column=self.column, value=self.value
        )


def _ingest_error(
    reason: str, path: str | None, line: int | None, column: str | None, value: str | None
) -> IngestError:
    return IngestError(reason, path=path, line=line, column=column, value=value)


class UnknownSourceError(KpiError):
    """No importer has the given name, or none recognises the file's header."""


class AmbiguousSourceError(KpiError):
    """More than one importer recognises the header; the user must pick one with --source."""

    def __init__(self, path: Path | str, candidates: Sequence[str]) -> None:
        self.candidates = tuple(candidates)
        super().__init__(
            f"{path}: the header fits several sources ({', '.join(self.candidates)}); "
            "choose one with --source"
        )
