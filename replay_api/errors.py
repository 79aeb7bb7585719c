"""Errors of the replay API, each with the HTTP status that fits it.

ReplayError
├── BadRequest          400
├── Forbidden           403
├── NotFound            404
└── NotReady            409   (the space is still being processed)
"""


class ReplayError(Exception):
    status_code = 400
    code = "bad_request"


class BadRequest(ReplayError):
    pass


class Forbidden(ReplayError):
    status_code = 403
    code = "forbidden"


class NotFound(ReplayError):
    status_code = 404
    code = "not_found"


class NotReady(ReplayError):
    status_code = 409
    code = "not_ready"
