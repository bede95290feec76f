"""The OpenAPI document, generated from the same pydantic models the handlers use."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from skill.events import Answer, Failed

from .schemas import AskRequest, ErrorBody, Health, ListenResult
from .ws_messages import CLIENT_MODELS, SERVER_MODELS

REF = "#/components/schemas/{model}"


def _json(model: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"description": "error", "content": _json("ErrorBody")} for s in statuses}


def openapi_document(version: str = "0.1.0") -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(m, "serialization") for m in (Answer, Failed, ErrorBody, ListenResult, Health, *SERVER_MODELS)]
        + [(m, "validation") for m in (AskRequest, *CLIENT_MODELS)],
        ref_template=REF,
    )
    wav = {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}
    raw_params = [
        {"name": n, "in": "query", "required": False, "schema": {"type": "integer"}, "description": d}
        for n, d in (
            ("rate", "raw PCM sample rate (8000-48000); its presence means the body is raw PCM"),
            ("width", "raw PCM bytes per sample (1-4, default 2)"),
            ("channels", "raw PCM channels (default 1)"),
            ("speak", "1: add the spoken answer as a base64 WAV in `audio`"),
        )
    ] + [{"name": "session", "in": "query", "required": False, "schema": {"type": "string"}}]
    paths: dict[str, Any] = {
        "/v1/ask": {
            "post": {
                "summary": "Answer a question given as text",
                "requestBody": {"required": True, "content": _json("AskRequest")},
                "responses": {"200": {"description": "the answer", "content": _json("Answer")}}
                | _errors(400, 401, 413, 415, 429, 503),
            }
        },
        "/v1/listen": {
            "post": {
                "summary": "Answer a spoken question: a WAV body, or raw PCM described by ?rate=&width=&channels=",
                "parameters": raw_params,
                "requestBody": {
                    "required": True,
                    "content": wav | {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {"200": {"description": "transcript and answer", "content": _json("ListenResult")}}
                | _errors(400, 401, 408, 413, 415, 429, 503),
            }
        },
        "/v1/speech": {
            "get": {
                "summary": "Speak a text",
                "parameters": [
                    {"name": "text", "in": "query", "required": True, "schema": {"type": "string"}},
                    {"name": "rate", "in": "query", "required": False, "schema": {"type": "integer"}},
                ],
                "responses": {"200": {"description": "16-bit mono WAV", "content": wav}} | _errors(400, 401, 503),
            }
        },
        "/v1/stream": {
            "get": {
                "summary": "WebSocket: binary PCM in, JSON events (partial, transcript, answer, error, "
                "audio-start/audio-end) and binary answer audio out. See skill/server/ws.py.",
                "responses": {"101": {"description": "switching protocols"}} | _errors(401, 403, 409, 503),
                # The JSON text frames each way (a WebSocket has no OpenAPI form of its own).
                "x-messages": {
                    "client": [{"$ref": REF.format(model=m.__name__)} for m in CLIENT_MODELS],
                    "server": [{"$ref": REF.format(model=m.__name__)} for m in SERVER_MODELS],
                },
            }
        },
        "/alexa": {
            "post": {
                "summary": "Alexa-style skill endpoint (signed requests)",
                "responses": {"200": {"description": "Alexa response envelope"}} | _errors(400),
            }
        },
        "/healthz": {
            "get": {
                "summary": "Engines loaded, queue depths",
                "responses": {"200": {"description": "health", "content": _json("Health")}},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus text format",
                "responses": {
                    "200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "B12 voice skill", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
