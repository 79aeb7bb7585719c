"""Participant tokens: what is issued verifies; expired, forged and misdirected tokens do not."""

from __future__ import annotations

import time

import jwt
import pytest

from live.errors import Unauthorized
from live.tokens import TokenClaims, TokenSigner

KEY = "k" * 48


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner(KEY, ttl_seconds=60)


def test_issued_token_verifies(signer: TokenSigner) -> None:
    token = signer.issue(participant_id="p1", space_id="s1")
    assert signer.verify(token, space_id="s1") == TokenClaims(participant_id="p1", space_id="s1")


def test_token_names_its_participant_space_and_lifetime(signer: TokenSigner) -> None:
    before = int(time.time())
    token = signer.issue(participant_id="p1", space_id="s1")
    claims = jwt.decode(token, KEY, algorithms=["HS256"], audience="stoa-live")
    assert claims["sub"] == "p1"
    assert claims["space"] == "s1"
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 60


def test_expired_token_is_refused(monkeypatch: pytest.MonkeyPatch, signer: TokenSigner) -> None:
    issued_at = time.time() - 3600
    monkeypatch.setattr(time, "time", lambda: issued_at)
    token = signer.issue(participant_id="p1", space_id="s1")
    monkeypatch.undo()
    with pytest.raises(Unauthorized, match="expired"):
        signer.verify(token, space_id="s1")


def test_token_signed_with_another_key_is_refused(signer: TokenSigner) -> None:
    forged = TokenSigner("x" * 48, ttl_seconds=60).issue(participant_id="p1", space_id="s1")
    with pytest.raises(Unauthorized, match="not valid"):
        signer.verify(forged, space_id="s1")


def test_tampered_claims_break_the_signature(signer: TokenSigner) -> None:
    header, _, signature = signer.issue(participant_id="p1", space_id="s1").split(".")
    other_claims = signer.issue(participant_id="host", space_id="s1").split(".")[1]
    with pytest.raises(Unauthorized, match="not valid"):
        signer.verify(f"{header}.{other_claims}.{signature}", space_id="s1")


def test_unsigned_token_is_refused(signer: TokenSigner) -> None:
    claims = {"sub": "p1", "space": "s1", "aud": "stoa-live", "exp": int(time.time()) + 60}
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(Unauthorized, match="not valid"):
        signer.verify(unsigned, space_id="s1")


def test_token_for_another_space_is_refused(signer: TokenSigner) -> None:
    token = signer.issue(participant_id="p1", space_id="s1")
    with pytest.raises(Unauthorized, match="another space"):
        signer.verify(token, space_id="s2")


def test_token_for_another_audience_is_refused(signer: TokenSigner) -> None:
    claims = {"sub": "p1", "space": "s1", "aud": "elsewhere", "exp": int(time.time()) + 60}
    with pytest.raises(Unauthorized, match="not valid"):
        signer.verify(jwt.encode(claims, KEY, algorithm="HS256"), space_id="s1")


def test_token_missing_a_claim_is_refused(signer: TokenSigner) -> None:
    claims = {"sub": "p1", "aud": "stoa-live", "exp": int(time.time()) + 60}
    with pytest.raises(Unauthorized, match="not valid"):
        signer.verify(jwt.encode(claims, KEY, algorithm="HS256"), space_id="s1")


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "😀.😀.😀"])
def test_garbage_is_refused(signer: TokenSigner, garbage: str) -> None:
    with pytest.raises(Unauthorized):
        signer.verify(garbage, space_id="s1")


def test_a_host_token_for_a_scheduled_space_outlives_the_wait() -> None:
    signer = TokenSigner("k" * 40, ttl_seconds=60)
    next_week = time.time() + 7 * 86400
    token = signer.issue(participant_id="h", space_id="s", valid_from=next_week)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] >= int(next_week) + 60
    assert signer.verify(token, space_id="s").participant_id == "h"


def test_a_host_token_lives_longer() -> None:
    signer = TokenSigner("k" * 40, ttl_seconds=60, host_ttl_seconds=90 * 86400)
    host = jwt.decode(
        signer.issue(participant_id="h", space_id="s", host=True),
        options={"verify_signature": False},
    )
    guest = jwt.decode(
        signer.issue(participant_id="g", space_id="s"), options={"verify_signature": False}
    )
    assert host["exp"] - host["iat"] == 90 * 86400
    assert guest["exp"] - guest["iat"] == 60
