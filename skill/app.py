"""The one place that composes the skill: settings in, a ready pipeline out."""

from __future__ import annotations

from dataclasses import dataclass

from handlers import KnowledgeBase, load_knowledge
from intents import Catalog, Matcher, load_catalog

from .config import Settings
from .pipeline import Pipeline
from .sessions import SessionStore
from .stages import Responder, Understander


@dataclass(frozen=True)
class Skill:
    settings: Settings
    catalog: Catalog
    knowledge: KnowledgeBase
    sessions: SessionStore
    pipeline: Pipeline


def build_skill(settings: Settings) -> Skill:
    catalog = load_catalog(settings.skill.locale)
    knowledge = load_knowledge(settings.skill.reminder)
    matcher = Matcher(catalog, threshold=settings.matcher.threshold)
    sessions = SessionStore(settings.sessions.idle_timeout_s, settings.sessions.max_sessions)
    pipeline = Pipeline([Understander(matcher, settings.skill.max_text_chars), Responder(knowledge, sessions)])
    return Skill(settings, catalog, knowledge, sessions, pipeline)
