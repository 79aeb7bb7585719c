"""What the replay routes work with, as FastAPI dependencies: the catalog, object storage, the
space asked for, and who is asking (the host, or anyone)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from live.api import TokenDep
from live.errors import Unauthorized as TokenRefused
from live.tokens import TokenSigner
from replay_api.errors import Forbidden, NotFound, Unauthorized
from stoa import errors as stoa_errors
from stoa.catalog import Catalog, SpaceRecord
from stoa.storage import ObjectStore


def get_catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


def get_store(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.store
    return store


def get_signer(request: Request) -> TokenSigner:
    # The live service's signer: host tokens are the ones it issued when the space was created.
    signer: TokenSigner = request.app.state.live.signer
    return signer


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
StoreDep = Annotated[ObjectStore, Depends(get_store)]
SignerDep = Annotated[TokenSigner, Depends(get_signer)]


async def load_space(catalog: Catalog, space_id: str) -> SpaceRecord:
    try:
        return await asyncio.to_thread(catalog.get_space, space_id)
    except stoa_errors.NotFound as exc:
        raise NotFound(f"there is no space {space_id!r}") from exc


async def get_space(space_id: str, catalog: CatalogDep) -> SpaceRecord:
    return await load_space(catalog, space_id)


SpaceDep = Annotated[SpaceRecord, Depends(get_space)]


@dataclass(frozen=True)
class Viewer:
    """Who asks about a space: its host (with the host's token), or anyone."""

    space: SpaceRecord
    is_host: bool
    has_token: bool

    def require_host(self, what: str) -> None:
        """`Unauthorized` without a token, `Forbidden` with someone else's."""
        if self.is_host:
            return
        if not self.has_token:
            raise Unauthorized(
                f"{what} is the host's: send the host token as 'Authorization: Bearer <token>'"
            )
        raise Forbidden(f"{what} is the host's, and this token is not the host's")


async def get_viewer(space: SpaceDep, signer: SignerDep, token: TokenDep) -> Viewer:
    """The caller, checked the way the live API checks participant tokens."""
    if token is None:
        return Viewer(space, is_host=False, has_token=False)
    try:
        claims = signer.verify(token, space_id=space.id)
    except TokenRefused as exc:
        raise Unauthorized(str(exc)) from exc
    return Viewer(space, is_host=claims.participant_id == space.host_id, has_token=True)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]
