"""The `sources:` section: shape, references to teams, reps, stages and actions, credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from salespulse.models.config import Settings, load_settings, parse_settings
from salespulse.models.errors import ConfigError
from salespulse.models.gateway import PipedriveMapping, Sources

FLOOR: dict[str, Any] = {
    "teams": {"amsterdam": {"reps": {"anna": {"name": "Anna de Vries"}}}, "new-york": {}},
}


def error(sources: dict[str, Any], **rest: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_settings({**FLOOR, **rest, "sources": sources}, "c.yaml")
    return str(info.value)


def test_no_sources_by_default() -> None:
    assert Settings().sources == Sources()
    assert Settings().sources.configured() == {}


def test_a_full_section_loads(tmp_path: Path) -> None:
    path = tmp_path / "salespulse.yaml"
    path.write_text(
        """
teams:
  amsterdam: {reps: {anna: {name: Anna de Vries}}}
sources:
  hubspot:
    owners: {"7301": {team: amsterdam, rep: anna}, "userId:45678": {team: amsterdam, rep: anna}}
    stages: {appointmentscheduled: qualified, closedwon: won, closedlost: lost}
    actions: {outbound: cold_call, inbound: call}
  pipedrive: {basic_auth_user: salespulse, stages: {"1": lead}, actions: {call: call}}
  aircall:
    owners: {"1234": {team: amsterdam, rep: anna}}
    actions: {outbound: cold_call, outbound_unanswered: cold_call, inbound: call}
    ignore: [inbound_unanswered]
  salesforce: {organization_id: 00D5e000000KQ2eEAG, stages: {Closed Won: won}}
  generic: {}
""",
        encoding="utf-8",
    )
    sources = load_settings(path).sources
    assert list(sources.configured()) == ["hubspot", "pipedrive", "aircall", "salesforce", "generic"]
    assert sources.hubspot is not None and sources.hubspot.owners["7301"].rep == "anna"
    assert sources.aircall is not None and sources.aircall.ignore == ("inbound_unanswered",)


def test_owner_of_an_unknown_team() -> None:
    message = error({"hubspot": {"owners": {"7301": {"team": "rotterdam", "rep": "anna"}}}})
    assert message == (
        "c.yaml: (top level): Value error, sources.hubspot.owners.7301.team: 'rotterdam' is not a configured "
        "team (amsterdam, new-york)"
    )


def test_owner_not_among_the_teams_reps() -> None:
    message = error({"aircall": {"owners": {"1234": {"team": "amsterdam", "rep": "zed"}}}})
    assert "sources.aircall.owners.1234.rep: 'zed' is not listed under teams.amsterdam.reps" in message


def test_a_team_without_reps_takes_any_identifier() -> None:
    settings = parse_settings({**FLOOR, "sources": {"aircall": {"owners": {"1": {"team": "new-york", "rep": "mike"}}}}})
    assert settings.sources.aircall is not None


def test_without_teams_ids_must_still_be_identifiers() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"sources": {"aircall": {"owners": {"1": {"team": "new york", "rep": "mike"}}}}}, "c.yaml")
    assert "sources.aircall.owners.1: 'new york' is not an identifier" in str(info.value)


def test_stage_and_action_must_be_configured() -> None:
    message = error(
        {"pipedrive": {"stages": {"7": "closed_won"}, "actions": {"sms": "text_message"}}},
        actions=["call", "meeting"],
    )
    assert "sources.pipedrive.stages.7: 'closed_won' is not one of lead, qualified, meeting, proposal, negotiation, won, lost" in message
    assert "sources.pipedrive.actions.sms: 'text_message' is not one of call, meeting" in message


def test_unknown_keys_and_sources_are_refused() -> None:
    assert "sources.hubspot.secret: Extra inputs are not permitted" in error({"hubspot": {"secret": "s3cret"}})
    assert "sources.zoho: Extra inputs are not permitted" in error({"zoho": {}})


def test_salesforce_needs_a_real_organization_id() -> None:
    assert "sources.salesforce.organization_id: Field required" in error({"salesforce": {}})
    assert "sources.salesforce.organization_id: String should match pattern" in error(
        {"salesforce": {"organization_id": "005xx000001Sv6A"}}
    )


def test_generic_takes_no_mapping() -> None:
    assert "sources.generic: Value error, generic events follow the event contract" in error(
        {"generic": {"owners": {"1": {"team": "amsterdam", "rep": "anna"}}}}
    )


def test_bad_timezone_and_env_name() -> None:
    assert "sources.hubspot.timezone: Value error, unknown IANA timezone 'Europe/Amsterdm'" in error(
        {"hubspot": {"timezone": "Europe/Amsterdm"}}
    )
    assert "sources.aircall.token_env: String should match pattern" in error({"aircall": {"token_env": "MY TOKEN"}})


def test_credentials_come_from_the_environment() -> None:
    settings = parse_settings(
        {
            "sources": {
                "hubspot": {"secret_env": "HS_SECRET"},
                "pipedrive": {"basic_auth_user": "salespulse"},
                "aircall": {},
                "salesforce": {"organization_id": "00D5e000000KQ2eEAG"},
                "generic": {},
            }
        }
    )
    env = {"HS_SECRET": "a", "PIPEDRIVE_WEBHOOK_PASSWORD": "b", "AIRCALL_WEBHOOK_TOKEN": "c", "SALESPULSE_GATEWAY_SECRET": "d"}
    assert {name: block.credential(env) for name, block in settings.sources.configured().items()} == {
        "hubspot": "a",
        "pipedrive": "salespulse:b",
        "aircall": "c",
        "salesforce": "00D5e000000KQ2eEAG",
        "generic": "d",
    }
    assert PipedriveMapping().credential({}) is None
    with pytest.raises(ConfigError) as info:
        settings.sources.configured()["aircall"].credential({})
    assert str(info.value) == "sources.aircall.token_env: the environment variable AIRCALL_WEBHOOK_TOKEN is not set"


def test_basic_auth_user_has_no_colon() -> None:
    assert "basic auth user names cannot contain ':'" in error({"pipedrive": {"basic_auth_user": "a:b"}})


def test_the_demo_configuration_loads_with_the_generic_source_only() -> None:
    demo = Path(__file__).resolve().parents[3] / "examples" / "demo.yaml"
    sources = load_settings(demo).sources
    assert list(sources.configured()) == ["generic"]
    assert sources.generic is not None and sources.generic.secret_env == "SALESPULSE_GATEWAY_SECRET"
