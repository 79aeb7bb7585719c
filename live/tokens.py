"""Participant tokens: JWTs signed by the server, naming the participant and the space."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from live.errors import Unauthorized

_ALGORITHM = "HS256"
_AUDIENCE = "stoa-live"


@dataclass(frozen=True)
class TokenClaims:
    participant_id: str
    space_id: str


class TokenSigner:
    """Signs and verifies participant tokens with one secret key."""

    def __init__(self, key: str, ttl_seconds: int, host_ttl_seconds: int | None = None) -> None:
        self._key = key
        self._ttl = ttl_seconds
        self._host_ttl = host_ttl_seconds or ttl_seconds

    def issue(
        self, *, participant_id: str, space_id: str, valid_from: float = 0.0, host: bool = False
    ) -> str:
        """A token valid for the TTL from now, or from ``valid_from`` if later (a host's
        token for a space scheduled next week must still start it). A host's token lives
        longer: it is their key to the space's transcript long after the space."""
        now = int(time.time())
        claims = {
            "sub": participant_id,
            "space": space_id,
            "aud": _AUDIENCE,
            "iat": now,
            "exp": max(now, int(valid_from)) + (self._host_ttl if host else self._ttl),
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def verify(self, token: str, *, space_id: str) -> TokenClaims:
        """The claims of a valid token for ``space_id``; `Unauthorized` otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=_AUDIENCE,
                options={"require": ["sub", "space", "exp"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("your token has expired; join the space again") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("the token is not valid; join the space again") from exc
        if claims["space"] != space_id:
            raise Unauthorized("the token belongs to another space")
        return TokenClaims(participant_id=str(claims["sub"]), space_id=space_id)
