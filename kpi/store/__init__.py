"""The metric store: schema, engine set-up, migrations and bulk writes."""

from kpi.store.engine import open_store
from kpi.store.schema import facts, imports, metadata, series

__all__ = ["facts", "imports", "metadata", "open_store", "series"]
