"""Errors of the live rooms, each with the HTTP status that fits it and a stable ``code``
for clients (the message is for people and may change).

LiveError
├── BadRequest            400
│   └── InvalidOffer      400
├── Unauthorized          401
├── Forbidden             403
│   └── Removed           403
├── NotFound              404
├── Conflict              409
├── Gone                  410
└── RateLimited           429
"""


class LiveError(Exception):
    """Base of the live errors; ``str(error)`` is a message a person can act on."""

    code = "bad_request"
    status_code = 400


class BadRequest(LiveError):
    code = "bad_request"
    status_code = 400


class InvalidOffer(BadRequest):
    """An SDP offer we cannot or will not answer."""

    code = "invalid_offer"


class Unauthorized(LiveError):
    """No token, or one that is forged, expired or for another space."""

    code = "unauthorized"
    status_code = 401


class Forbidden(LiveError):
    """The caller's role does not allow the action."""

    code = "forbidden"
    status_code = 403


class Removed(Forbidden):
    """The caller was removed from the space."""

    code = "removed"


class NotFound(LiveError):
    code = "not_found"
    status_code = 404


class Conflict(LiveError):
    """The action does not fit the space's current state (stage full, not started, ...)."""

    code = "conflict"
    status_code = 409


class Gone(LiveError):
    """The space has ended."""

    code = "ended"
    status_code = 410


class RateLimited(LiveError):
    code = "rate_limited"
    status_code = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
