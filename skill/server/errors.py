"""Errors the front doors raise, and the one mapping from error codes to HTTP statuses."""

from __future__ import annotations

from skill.errors import SkillError


class ApiError(SkillError):
    """A request refused at the door. `status` is its HTTP status."""

    code = "bad_request"
    status = 400


class BadJson(ApiError):
    code = "bad_json"


class UnsupportedMedia(ApiError):
    code = "unsupported_media_type"
    status = 415


class TooLarge(ApiError):
    code = "too_large"
    status = 413


class RequestTimeout(ApiError):
    code = "timeout"
    status = 408


class Unauthorized(ApiError):
    code = "unauthorized"
    status = 401


class RateLimited(ApiError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Forbidden(ApiError):
    """A request from somewhere it may not come from (another site's page, a rebound host name)."""

    code = "forbidden"
    status = 403


class SessionBusy(ApiError):
    """The session already has an audio stream open (the recognizer keys its decoder by session)."""

    code = "session_busy"
    status = 409


class BadSignature(ApiError):
    """An Alexa request that fails Amazon's verification rules (Amazon expects HTTP 400)."""

    code = "bad_signature"


_STATUS_BY_CODE: dict[str, int] = {
    "bad_input": 400,
    "bad_audio": 400,
    "bad_request": 400,
    "bad_json": 400,
    "bad_message": 400,
    "bad_signature": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "timeout": 408,
    "session_busy": 409,
    "too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "internal_error": 500,
    "recognition_failed": 502,
    "synthesis_failed": 502,
    "busy": 503,
    "model_unavailable": 503,
    "tts_unavailable": 503,
}


def status_for(code: str) -> int:
    """The HTTP status of an error code (skill errors included); unknown codes are server faults."""
    return _STATUS_BY_CODE.get(code, 500)
