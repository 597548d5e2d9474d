"""Readable names for the configuration's ids on the pages: `cold_call` is shown as "Cold call".

The ids Salespulse ships as defaults (actions, review subjects and themes, rubric items) have a
name in the catalogue, and so in Dutch; any other id is shown with its underscores as spaces
and a capital first letter.
"""

from __future__ import annotations

from collections.abc import Callable

from salespulse.web.i18n import N_

KNOWN = {
    # actions
    "call": N_("Calls"),
    "cold_call": N_("Cold calls"),
    "outbound_email": N_("Outbound e-mails"),
    "meeting": N_("Meetings"),
    "demo": N_("Demos"),
    "proposal_sent": N_("Proposals sent"),
    "follow_up": N_("Follow-ups"),
    # review subjects and their themes
    "proposal": N_("Proposal"),
    "opening": N_("Opening"),
    "closing": N_("Closing"),
    "pain_points": N_("Pain points"),
    "clarity": N_("Clarity"),
    "value": N_("Value"),
    "next_steps": N_("Next steps"),
    # mystery rubric items
    "lead_profile": N_("Complete lead profile"),
    "call_report": N_("Complete call report"),
}
# A review subject reads as a thing reviewed ("a call"), not as a count of actions ("Calls").
SUBJECTS = {"call": N_("Call"), "proposal": N_("Proposal")}


def humanised(identifier: str) -> str:
    """Return an id as words: underscores as spaces, the first letter a capital."""
    words = identifier.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else identifier


def label(identifier: str, gettext: Callable[[str], str], *, subject: bool = False) -> str:
    """Return the readable name of an id, in the reader's language where the catalogue has it."""
    known = (SUBJECTS if subject else KNOWN).get(identifier)
    return gettext(known) if known else humanised(identifier)
