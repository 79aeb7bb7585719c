"""Errors of the workers.

WorkerError (StoaError)
├── PermanentError        retrying cannot fix it: the run stops, and its reason is shown
│   ├── MediaError        a track is corrupt, empty, or cannot be decoded or encoded
│   ├── MissingInput      something the stage reads is gone from storage or the catalog
│   └── ModelUnavailable  the recognition model cannot be loaded with these settings
├── BrokerError           the message broker did not take a message (retried, then logged)
└── NotProcessable        the space cannot be processed (not recorded, no such space)

Anything else a stage raises (storage `StorageUnavailable`, `CatalogError`, a broker error) is
temporary to the workers: the message is retried with backoff, a bounded number of times.
"""

from __future__ import annotations

from stoa.errors import StoaError


class WorkerError(StoaError):
    """Base of the workers' errors."""


class PermanentError(WorkerError):
    """A failure retrying cannot fix; its message is what a person reads on the space."""


class MediaError(PermanentError):
    """A track is corrupt or empty, or its audio could not be decoded or encoded."""


class MissingInput(PermanentError):
    """A track, an intermediate file or a catalog row the stage needs is missing."""


class ModelUnavailable(PermanentError):
    """The recognition model could not be found or loaded."""


class BrokerError(WorkerError):
    """The broker could not take a message for now."""


class NotProcessable(WorkerError):
    """The space is not one the pipeline can process (yet)."""
