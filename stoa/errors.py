"""Errors of the shared package.

StoaError
├── CatalogError
│   └── NotFound
└── ConfigurationError
"""


class StoaError(Exception):
    """Base of every error Stoa raises on purpose."""


class CatalogError(StoaError):
    """The catalog (database) could not do what was asked."""


class NotFound(CatalogError):
    """A row that was asked for by id does not exist."""


class ConfigurationError(StoaError):
    """A setting is missing, malformed or unsafe."""
