"""What can be asked: intent data per locale and the matcher that reads it."""

from .catalog import Catalog, load_catalog
from .matcher import Matcher
from .results import IntentMatch, NotRecognized, Understanding

__all__ = ["Catalog", "IntentMatch", "Matcher", "NotRecognized", "Understanding", "load_catalog"]
