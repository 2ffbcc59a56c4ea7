"""HTTP face of the verifiable log (``ledger serve``), read-only, for auditors and
supervising units: signed checkpoints, the proofs ``ledger prove`` prints (checked
offline by ``ledger verify-proof``), the log's verifier key, and the publishers' health.

Its lifespan runs one Publisher per ledger served, so every entry any writer appends is
covered by a signed checkpoint within a second while the server runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from ledger.core.errors import LedgerError
from ledger.export import ExportError, dumps
from ledger.serving import (
    LedgerNotNamedError,
    LogServer,
    NoCheckpointError,
    ServedLedger,
    UnknownLedgerError,
)
from ledger.storage import StorageError

MAX_SIZE = 2**63 - 1  # tree sizes and indexes are stored as BIGINT
ERROR_STATUS: tuple[tuple[type[LedgerError], int], ...] = (
    (UnknownLedgerError, 404),
    (LedgerNotNamedError, 400),
    (ExportError, 400),  # no checkpoint at that size, index outside the tree, from > to
    (NoCheckpointError, 503),
    (StorageError, 503),
)


class LedgerOut(BaseModel):
    origin: str
    policy: str
    vkey: str
    size: int | None


class PublisherOut(BaseModel):
    origin: str
    running: bool
    size: int | None
    errors: int
    witness_failures: dict[str, str]


class HealthOut(BaseModel):
    ok: bool
    publishers: list[PublisherOut]


def get_server(request: Request) -> LogServer:
    server: LogServer = request.app.state.server
    return server


ServerDep = Annotated[LogServer, Depends(get_server)]


def get_ledger(
    server: ServerDep,
    ledger: Annotated[str | None, Query(description="origin; optional when one is served")] = None,
) -> ServedLedger:
    return server.ledger(ledger)


LedgerDep = Annotated[ServedLedger, Depends(get_ledger)]
Index = Annotated[int, Query(ge=0, le=MAX_SIZE)]
Size = Annotated[int | None, Query(ge=0, le=MAX_SIZE, description="default: latest")]
From = Annotated[int, Query(alias="from", ge=0, le=MAX_SIZE)]
To = Annotated[int | None, Query(alias="to", ge=0, le=MAX_SIZE, description="default: latest")]


def list_ledgers(server: ServerDep) -> list[LedgerOut]:
    return [LedgerOut(**vars(served.summary())) for served in server.ledgers]


def checkpoint(served: LedgerDep) -> PlainTextResponse:
    return PlainTextResponse(served.checkpoint_note())


def inclusion_proof(served: LedgerDep, index: Index, size: Size = None) -> Response:
    return Response(dumps(served.inclusion(index, size)), media_type="application/json")


def consistency_proof(served: LedgerDep, first: From, second: To = None) -> Response:
    return Response(dumps(served.consistency(first, second)), media_type="application/json")


def log_key(served: LedgerDep) -> PlainTextResponse:
    return PlainTextResponse(served.vkey + "\n")


def healthz(server: ServerDep) -> JSONResponse:
    publishers = [PublisherOut(**vars(health)) for health in server.health()]
    body = HealthOut(ok=all(p.running for p in publishers), publishers=publishers)
    return JSONResponse(body.model_dump(), status_code=200 if body.ok else 503)


async def ledger_error(_request: Request, exc: Exception) -> PlainTextResponse:
    status = next((code for kind, code in ERROR_STATUS if isinstance(exc, kind)), 500)
    headers = {"Retry-After": "1"} if status == 503 else None
    return PlainTextResponse(f"{exc}\n", status_code=status, headers=headers)


async def bad_request(_request: Request, exc: Exception) -> PlainTextResponse:
    problems = []
    for error in exc.errors() if isinstance(exc, RequestValidationError) else []:
        name = str(error["loc"][-1])
        problems.append(
            f"{name} is required" if error["type"] == "missing" else f"{name}: {error['msg']}"
        )
    return PlainTextResponse("; ".join(problems or ["bad request"]) + "\n", status_code=400)


def create_log_app(server: LogServer) -> FastAPI:
    """An app factory: the server (its database, ledgers and publishers) is made once and
    passed in; the lifespan starts the publishers and stops them on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.server = server
        server.start()
        try:
            yield
        finally:
            await asyncio.to_thread(server.stop)

    app = FastAPI(title="Ledger log", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.server = server
    app.add_exception_handler(LedgerError, ledger_error)
    app.add_exception_handler(RequestValidationError, bad_request)
    app.add_api_route("/ledgers", list_ledgers, methods=["GET"], response_model=list[LedgerOut])
    app.add_api_route("/checkpoint", checkpoint, methods=["GET"])
    app.add_api_route("/proof/inclusion", inclusion_proof, methods=["GET"])
    app.add_api_route("/proof/consistency", consistency_proof, methods=["GET"])
    app.add_api_route("/log-key", log_key, methods=["GET"])
    app.add_api_route("/healthz", healthz, methods=["GET"])
    return app
