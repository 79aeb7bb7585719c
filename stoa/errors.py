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


class StorageError(StoaError):
    """Object storage could not do what was asked."""


class InvalidKey(StorageError):
    """A storage key that is not made of safe parts."""


class ObjectNotFound(StorageError):
    """No object under that key."""


class StorageUnavailable(StorageError):
    """The store did not answer or refused for now; retrying later may work."""


class SearchError(StoaError):
    """The search index could not answer."""


class InvalidQuery(SearchError):
    """A query with nothing to search for, or too long; the message says which."""
