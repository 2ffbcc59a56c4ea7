"""HTTP face of the witness: ``POST /add-checkpoint`` (c2sp.org/tlog-witness)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from ledger.witness import Witness

MAX_REQUEST = 64 * 1024  # a checkpoint, 63 proof lines and signatures fit easily


def get_witness(request: Request) -> Witness:
    witness: Witness = request.app.state.witness
    return witness


WitnessDep = Annotated[Witness, Depends(get_witness)]


async def bounded_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None once it is longer than ``limit`` bytes: a declared length
    over the limit is refused unread, and a body is never read past the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def add_checkpoint(request: Request, witness: WitnessDep) -> Response:
    body = await bounded_body(request, MAX_REQUEST)
    if body is None:
        return PlainTextResponse(f"request larger than {MAX_REQUEST} bytes\n", status_code=413)
    answer = witness.add_checkpoint(body)
    # The content type exactly as given: C2SP wants "text/x.tlog.size" with no charset.
    return Response(
        answer.body, status_code=answer.status, headers={"Content-Type": answer.content_type}
    )


async def vkey(witness: WitnessDep) -> PlainTextResponse:
    return PlainTextResponse(witness.vkey + "\n")


def create_witness_app(witness: Witness) -> FastAPI:
    """An app factory: the witness (its state and key) is made once and passed in."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.witness = witness
        yield
        witness.db.close()

    app = FastAPI(title="Ledger witness", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.witness = witness
    app.add_api_route("/add-checkpoint", add_checkpoint, methods=["POST"])
    app.add_api_route("/vkey", vkey, methods=["GET"])
    return app
