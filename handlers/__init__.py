"""How questions are answered: pure handlers of (match, conversation, knowledge base) -> outcome."""

from .context import Conversation, Outcome, Reply
from .knowledge_base import KnowledgeBase, load_knowledge
from .router import respond

__all__ = ["Conversation", "KnowledgeBase", "Outcome", "Reply", "load_knowledge", "respond"]
