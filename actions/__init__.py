"""Custom actions in the Rasa SDK shape: the glue between a conversation and the knowledge base.

The engine runs them in process; with the [rasa] extra, `python -m rasa_sdk --actions actions`
serves the same classes to a Rasa server.
"""

from actions.answer import ActionAnswer
from actions.emergency import ActionEmergency
from actions.orientation import ActionOrientation
from actions.question import ActionAskQuestion
from actions.scheme_info import ActionSchemeInfo
from actions.services import ActionHumanHandoff, ActionNearbyServices
from actions.shown_place import ActionShownPlace

ALL_ACTIONS = [
    ActionEmergency(),
    ActionSchemeInfo(),
    ActionAskQuestion(),
    ActionOrientation(),
    ActionNearbyServices(),
    ActionHumanHandoff(),
    ActionAnswer(),
    ActionShownPlace(),
]

__all__ = [
    "ALL_ACTIONS",
    "ActionAnswer",
    "ActionAskQuestion",
    "ActionEmergency",
    "ActionHumanHandoff",
    "ActionNearbyServices",
    "ActionOrientation",
    "ActionSchemeInfo",
    "ActionShownPlace",
]
