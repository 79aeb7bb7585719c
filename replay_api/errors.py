"""Errors of the replay API, each with the HTTP status that fits it and a stable ``code``.

ReplayError
├── BadRequest          400
├── Unauthorized        401   (no host token, or one that is not valid)
├── Forbidden           403
├── NotFound            404
├── NotReady            409   (the space has no replay yet: live, saving or being processed)
└── Unavailable         503   (object storage did not answer)
"""

from collections.abc import Mapping
from types import MappingProxyType


class ReplayError(Exception):
    """Base of the replay errors; ``str(error)`` is a message a person can act on."""

    status_code = 400
    code = "bad_request"
    headers: Mapping[str, str] = MappingProxyType({})


class BadRequest(ReplayError):
    pass


class Unauthorized(ReplayError):
    status_code = 401
    code = "unauthorized"
    headers = MappingProxyType({"WWW-Authenticate": 'Bearer realm="stoa"'})


class Forbidden(ReplayError):
    status_code = 403
    code = "forbidden"


class NotFound(ReplayError):
    status_code = 404
    code = "not_found"


class NotReady(ReplayError):
    status_code = 409
    code = "not_ready"


class Unavailable(ReplayError):
    status_code = 503
    code = "unavailable"
