"""Stoa's shared package: settings, the catalog, object storage and the ``stoa`` CLI."""

__version__ = "0.1.0"
