"""The parts of Alexa's request and response envelopes this skill reads and writes."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from pydantic import BaseModel, ConfigDict, Field


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Application(_Loose):
    application_id: str = Field(default="", alias="applicationId")


class Session(_Loose):
    session_id: str = Field(alias="sessionId")
    new: bool = False
    application: Application = Application()
    attributes: dict[str, Any] = Field(default_factory=dict)


class Resolution(_Loose):
    values: list[dict[str, Any]] = Field(default_factory=list)
    status: dict[str, Any] = Field(default_factory=dict)


class Resolutions(_Loose):
    resolutions_per_authority: list[Resolution] = Field(default_factory=list, alias="resolutionsPerAuthority")


class Slot(_Loose):
    name: str
    value: str | None = None
    resolutions: Resolutions | None = None

    def resolved_id(self) -> str | None:
        """The slot type value id Alexa matched (our canonical slot value), if any."""
        for authority in self.resolutions.resolutions_per_authority if self.resolutions else []:
            if authority.status.get("code") == "ER_SUCCESS_MATCH" and authority.values:
                value = authority.values[0].get("value", {})
                found = value.get("id") if isinstance(value, dict) else None
                if isinstance(found, str):
                    return found
        return None


class Intent(_Loose):
    name: str
    slots: dict[str, Slot] = Field(default_factory=dict)


class Request(_Loose):
    type: str
    request_id: str = Field(default="", alias="requestId")
    timestamp: str | None = None
    locale: str | None = None
    intent: Intent | None = None
    reason: str | None = None


class System(_Loose):
    application: Application = Application()


class Context(_Loose):
    system: System = Field(default=System(), alias="System")


class RequestEnvelope(_Loose):
    version: str = "1.0"
    session: Session | None = None
    context: Context = Context()
    request: Request

    def application_id(self) -> str:
        return self.context.system.application.application_id or (
            self.session.application.application_id if self.session else ""
        )


REPROMPT = "You can ask another question about B12 and aches, or say stop."


def response_envelope(
    text: str | None, *, end_session: bool, attributes: dict[str, Any], reprompt: str | None = REPROMPT
) -> dict[str, Any]:
    """SSML output speech (escaped), a PlainText reprompt while the session stays open, a simple card."""
    response: dict[str, Any] = {"shouldEndSession": end_session}
    if text:
        response["outputSpeech"] = {"type": "SSML", "ssml": f"<speak>{escape(text)}</speak>"}
        response["card"] = {"type": "Simple", "title": "B12 and aches", "content": text}
        if not end_session and reprompt:
            response["reprompt"] = {"outputSpeech": {"type": "PlainText", "text": reprompt}}
    return {"version": "1.0", "sessionAttributes": attributes, "response": response}
