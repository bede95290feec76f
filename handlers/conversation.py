"""Built-in conversation turns: help, greeting, thanks, "got it", who am I, repeat, stop, goodbye and cancel.

Only "stop", "goodbye" and "cancel" end a conversation; none of these is a health answer, so none
carries the reminder except "are you a doctor" (which is about where to get advice).
"""

from __future__ import annotations

from intents.results import IntentMatch

from .compose import finish
from .context import Conversation, Outcome
from .knowledge_base import KnowledgeBase


def help_(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    return finish([kb.say.help], match, conversation, kb, health=False)


def greeting(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    return finish([kb.say.greeting], match, conversation, kb, health=False, remember=False)


def thanks(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    return finish([kb.say.thanks], match, conversation, kb, health=False, remember=False)


def acknowledge(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    return finish([kb.say.acknowledge], match, conversation, kb, health=False, remember=False)


def about_me(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    return finish([kb.say.about_me], match, conversation, kb, remember=False)


def repeat(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    if conversation.last_body is None:
        return finish([kb.say.nothing_to_repeat], match, conversation, kb, remember=False)
    return finish([conversation.last_body], match, conversation, kb, facts=conversation.last_facts)


def doubt(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    """The last answer again ("are you sure?"), as what the source says with its hedges, not as proof."""
    if conversation.last_body is None:
        return finish([kb.say.nothing_to_repeat], match, conversation, kb, remember=False)
    return finish([kb.say.doubt, conversation.last_body], match, conversation, kb, facts=conversation.last_facts)


def stop(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    return finish([kb.say.stop], match, conversation, kb, end_session=True, remember=False, health=False)


def goodbye(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    return finish([kb.say.goodbye], match, conversation, kb, end_session=True, remember=False, health=False)


def cancel(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    return finish([kb.say.cancel], match, conversation, kb, end_session=True, remember=False, health=False)
