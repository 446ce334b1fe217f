"""Errors in OpenAI's JSON shape, so clients (the openai SDK first) raise their usual exception types."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException


def error_response(status: int, message: str, *, kind: str = "invalid_request_error", param: str | None = None,
                   code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 becomes OpenAI's 400, naming the first field at fault and what was wrong with it."""
    first = exc.errors()[0]
    where = [str(p) for p in first.get("loc", ()) if p != "body"]
    param = ".".join(where) or None
    if first.get("type") == "json_invalid":
        return error_response(400, f"the body is not valid JSON: {first.get('ctx', {}).get('error', first['msg'])}")
    if first.get("type") == "extra_forbidden":
        return error_response(400, f"{param}: unknown field", param=param)
    if first.get("type") == "missing":
        return error_response(400, f"{param}: required field missing", param=param)
    detail = first["msg"]
    if "input" in first and first.get("type") != "model_attributes_type":
        detail += f", got {first['input']!r:.80}"
    return error_response(400, f"{param or 'body'}: {detail}", param=param)


async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's own answers (an unknown route, a wrong method) in OpenAI's shape too."""
    return error_response(exc.status_code, f"{exc.detail}", code="not_found" if exc.status_code == 404 else None,
                          headers=getattr(exc, "headers", None))
