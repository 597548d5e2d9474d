"""Who is who on the pages, and who may do what; all from the configuration file.

A person is a rep or a manager of one team (`teams.<team>.reps`, `teams.<team>.managers`):

    what                              who may
    file a self-report for rep R      R only
    review rep R of team T            a manager of T; with reviews.peers, also another rep of T
    read the reviews of rep R         R, and the managers of R's team
    score the month's mystery draw    the team's checker of the month (mystery_rotation)
    see /team/T                       a manager of T
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from salespulse.models.config import Settings

Role = Literal["rep", "manager"]


@dataclass(frozen=True)
class Person:
    """A signed-in person: their team, id in it, display name and role."""

    team: str
    id: str
    name: str
    role: Role

    @property
    def key(self) -> str:
        """Return `team/id`, as `salespulse web link` takes it."""
        return f"{self.team}/{self.id}"


def find_person(settings: Settings, team_id: str, person_id: str) -> Person | None:
    """Return the configured rep or manager `person_id` of `team_id`, or None."""
    team = settings.teams.get(team_id)
    if team is None:
        return None
    if person_id in team.reps:
        return Person(team_id, person_id, team.reps[person_id].name, "rep")
    if person_id in team.managers:
        return Person(team_id, person_id, team.managers[person_id].name, "manager")
    return None


def person_by_email(settings: Settings, email: str) -> Person | None:
    """Return the person whose configured e-mail is `email` (case ignored), or None."""
    found = settings.emails().get(email.strip().lower())
    return find_person(settings, *found) if found else None


def may_file_for(person: Person, team_id: str, rep_id: str) -> bool:
    """Tell whether `person` may file the self-report of `rep_id`: only the rep themselves."""
    return person.role == "rep" and person.team == team_id and person.id == rep_id


def may_review(settings: Settings, person: Person, team_id: str, rep_id: str) -> bool:
    """Tell whether `person` may review `rep_id` of `team_id`: a manager of the team, or a peer where allowed."""
    team = settings.teams.get(team_id)
    if team is None or rep_id not in team.reps or person.team != team_id:
        return False
    if person.role == "manager":
        return True
    # A peer review is another rep's: never one's own, whatever allow_self_review says for `publish`.
    return settings.reviews.peers and person.id != rep_id


def reviewable(settings: Settings, person: Person) -> list[str]:
    """Return the ids of the reps `person` may review, in the configuration's order."""
    team = settings.teams.get(person.team)
    return [rep for rep in (team.reps if team else {}) if may_review(settings, person, person.team, rep)]


def may_read_reviews_of(person: Person, team_id: str, rep_id: str) -> bool:
    """Tell whether `person` may read the reviews (scores and notes) of `rep_id`: the rep, or a manager of the team."""
    if person.team != team_id:
        return False
    return person.id == rep_id if person.role == "rep" else person.role == "manager"


def may_see_team(person: Person, team_id: str) -> bool:
    """Tell whether `person` may see the page of `team_id`: its managers."""
    return person.role == "manager" and person.team == team_id


def is_checker(settings: Settings, person: Person, month: str) -> bool:
    """Tell whether `person` is their team's mystery checker in `month` (YYYY-MM)."""
    return person.role == "rep" and settings.checker_of(person.team, month) == person.id
