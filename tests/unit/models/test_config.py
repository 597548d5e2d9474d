"""Configuration: defaults, error messages that name key and file, Kafka environment."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from salespulse.models.config import CONFIG_ENV, KafkaSettings, Settings, load_settings, month_index, parse_settings
from salespulse.models.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "salespulse.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return str(info.value)


# --- defaults ------------------------------------------------------------------------------


def test_defaults() -> None:
    settings = Settings()
    assert settings.defaults.timezone == "UTC"
    assert settings.actions == (
        "call",
        "cold_call",
        "outbound_email",
        "meeting",
        "demo",
        "proposal_sent",
        "follow_up",
    )
    assert settings.stages == ("lead", "qualified", "meeting", "proposal", "negotiation")
    assert settings.all_stages == ("lead", "qualified", "meeting", "proposal", "negotiation", "won", "lost")
    assert settings.teams == {}
    assert (
        settings.retention.action_counts_days,
        settings.retention.deal_history_days,
        settings.retention.dedup_days,
    ) == (35, 400, 14)
    assert settings.limits.future_tolerance_s == 86_400
    assert (settings.kafka.partitions, settings.kafka.replication_factor) == (4, 1)
    assert settings.metrics_port == 6066


def test_no_path_and_no_environment_gives_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert load_settings() == Settings()


def test_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(write(tmp_path, "metrics_port: 9100\n")))
    assert load_settings().metrics_port == 9100


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "")) == Settings()


def test_full_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
defaults:
  timezone: Europe/Amsterdam
actions: [cold_call, demo]
stages: [lead, proposal]
teams:
  nl:
    reps:
      ann: {name: Ann de Vries}
  us:
    timezone: America/New_York
""",
    )
    settings = load_settings(path)
    assert settings.actions == ("cold_call", "demo")
    assert settings.all_stages == ("lead", "proposal", "won", "lost")
    assert settings.teams["nl"].reps["ann"].name == "Ann de Vries"
    assert settings.teams["us"].timezone == "America/New_York"


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        Settings().metrics_port = 1  # type: ignore[misc]


# --- errors name the key and the file ------------------------------------------------------


def test_unknown_team_timezone_names_key_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "teams:\n  nl:\n    timezone: Mars/Olympus\n")
    message = config_error(path)
    assert message.startswith(f"{path}: teams.nl.timezone: ")
    assert "unknown IANA timezone 'Mars/Olympus'" in message


def test_unknown_default_timezone_names_key_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "defaults:\n  timezone: CET+1\n")
    message = config_error(path)
    assert message.startswith(f"{path}: defaults.timezone: ")
    assert "'CET+1'" in message


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("defaults:\n  timezone: UTC\nactions: call: demo\n", ":3:14:", "mapping values are not allowed here"),
        ("a: [1, 2\nb: 3\n", ":2:2:", "expected ',' or ']', but got ':'"),
    ],
)
def test_invalid_yaml_gives_file_line_column(tmp_path: Path, text: str, where: str, problem: str) -> None:
    path = write(tmp_path, text)
    assert config_error(path) == f"{path}{where} not valid YAML: {problem}"


@pytest.mark.parametrize(
    ("stages", "clash"),
    [("[lead, won]", "won"), ("[lost, lead]", "lost"), ("[won, lead, lost]", "lost, won")],
)
def test_terminal_stages_may_not_be_listed(tmp_path: Path, stages: str, clash: str) -> None:
    path = write(tmp_path, f"stages: {stages}\n")
    message = config_error(path)
    assert message.startswith(f"{path}: ")
    assert f"stages: {clash} are terminal stages and are always present" in message


def test_duplicate_actions_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "actions: [call, demo, call, demo, meeting]\n")
    message = config_error(path)
    assert message.startswith(f"{path}: actions: ")
    assert message.endswith("duplicate entries: call, demo")


def test_duplicate_stages_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^<config>: stages: .*duplicate entries: lead$"):
        parse_settings({"stages": ["lead", "lead"]})


def test_empty_action_list_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^x\.yaml: actions: .*must list at least one entry$"):
        parse_settings({"actions": []}, "x.yaml")


def test_review_defaults() -> None:
    reviews = Settings().reviews
    assert reviews.themes == {"call": ("opening", "closing", "pain_points"), "proposal": ("clarity", "value", "next_steps")}
    assert (reviews.scale_min, reviews.scale_max, reviews.allow_self_review) == (1, 5, False)
    assert Settings().retention.review_days == 35


def test_review_section_from_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "reviews:\n"
        "  themes:\n"
        "    demo: [story, fit, ask, follow_up, close]\n"
        "  scale_min: 0\n"
        "  scale_max: 10\n"
        "  allow_self_review: true\n",
    )
    reviews = load_settings(path).reviews
    assert reviews.themes == {"demo": ("story", "fit", "ask", "follow_up", "close")}
    assert (reviews.scale_min, reviews.scale_max, reviews.allow_self_review) == (0, 10, True)


def test_duplicate_review_themes_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^x\.yaml: reviews\.themes: .*proposal: duplicate themes: value$"):
        parse_settings({"reviews": {"themes": {"proposal": ["value", "clarity", "value"]}}}, "x.yaml")


def test_review_themes_must_name_a_subject() -> None:
    with pytest.raises(ConfigError, match=r"^x\.yaml: reviews\.themes: .*must list at least one review subject$"):
        parse_settings({"reviews": {"themes": {}}}, "x.yaml")


@pytest.mark.parametrize(("low", "high"), [(5, 5), (5, 1)])
def test_review_scale_must_be_a_range(low: int, high: int) -> None:
    with pytest.raises(ConfigError, match=rf"^x\.yaml: reviews: .*scale_min \({low}\) must be lower than scale_max \({high}\)$"):
        parse_settings({"reviews": {"scale_min": low, "scale_max": high}}, "x.yaml")


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"retention": {"action_counts_days": 14}}, "retention.action_counts_days"),
        ({"retention": {"deal_history_days": 90}}, "retention.deal_history_days"),
        ({"metrics_port": 70000}, "metrics_port"),
        ({"teams": {"nl": {"reps": {"ann|x": {"name": "Ann"}}}}}, "teams.nl.reps.ann|x.[key]"),
        ({"colour": "blue"}, "colour"),
        ({"retention": {"review_days": 30}}, "retention.review_days"),
        ({"reviews": {"themes": {"call": ["opening", "closing"]}}}, "reviews.themes.call"),
        ({"reviews": {"themes": {"call": ["a", "b", "c", "d", "e", "f"]}}}, "reviews.themes.call"),
        ({"reviews": {"themes": {"call|x": ["a", "b", "c"]}}}, "reviews.themes.call|x.[key]"),
        ({"reviews": {"themes": {"call": ["a", "b", "c|d"]}}}, "reviews.themes.call.2"),
        ({"reviews": {"scale_max": "lots"}}, "reviews.scale_max"),
        ({"reviews": {"tone": True}}, "reviews.tone"),
        ({"alerts": {"team_stale_share": 1}}, "alerts.team_stale_share"),
        ({"alerts": {"stale_hold": "an hour"}}, "alerts.stale_hold"),
    ],
)
def test_validation_errors_name_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(data, "floor.yaml")
    assert str(info.value).startswith(f"floor.yaml: {key}: ")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- a\n- b\n")
    assert config_error(path) == f"{path}: the configuration must be a mapping, got list"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    assert config_error(path) == f"{path}: cannot read configuration: No such file or directory"


# --- lookups -------------------------------------------------------------------------------

FLOOR = Settings.model_validate(
    {
        "defaults": {"timezone": "Asia/Kolkata"},
        "teams": {
            "nl": {"timezone": "Europe/Amsterdam", "reps": {"ann": {"name": "Ann de Vries"}}},
            "blr": {"reps": {"raj": {"name": "Raj"}}},
        },
    }
)


@pytest.mark.parametrize(
    ("team", "zone"),
    [("nl", "Europe/Amsterdam"), ("blr", "Asia/Kolkata"), ("unknown", "Asia/Kolkata")],
)
def test_timezone_of(team: str, zone: str) -> None:
    assert FLOOR.timezone_of(team) == ZoneInfo(zone)


def test_timezone_of_without_any_configuration_is_utc() -> None:
    assert Settings().timezone_of("nl") == ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("team", "rep", "name"),
    [("nl", "ann", "Ann de Vries"), ("nl", "bob", "bob"), ("blr", "ann", "ann"), ("zz", "joe", "joe")],
)
def test_rep_name(team: str, rep: str, name: str) -> None:
    assert FLOOR.rep_name(team, rep) == name


# --- Kafka settings from the environment ---------------------------------------------------


def test_kafka_defaults_from_empty_environment() -> None:
    kafka = KafkaSettings.from_env({})
    assert (kafka.bootstrap_servers, kafka.security_protocol, kafka.sasl_mechanism) == (
        "127.0.0.1:9092",
        "PLAINTEXT",
        None,
    )
    assert kafka.broker_url == "kafka://127.0.0.1:9092"


def test_kafka_reads_every_variable() -> None:
    kafka = KafkaSettings.from_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": "k1:9093",
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": "svc",
            "KAFKA_SASL_PASSWORD": "hunter2",
            "UNRELATED": "x",
        }
    )
    assert (kafka.bootstrap_servers, kafka.security_protocol, kafka.sasl_mechanism, kafka.sasl_username) == (
        "k1:9093",
        "SASL_SSL",
        "SCRAM-SHA-512",
        "svc",
    )
    assert kafka.sasl_password is not None
    assert kafka.sasl_password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(kafka)


def test_kafka_empty_variable_means_default() -> None:
    assert KafkaSettings.from_env({"KAFKA_SECURITY_PROTOCOL": ""}).security_protocol == "PLAINTEXT"


def test_kafka_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "envhost:1")
    assert KafkaSettings.from_env().bootstrap_servers == "envhost:1"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("KAFKA_SECURITY_PROTOCOL", "TLS"), ("KAFKA_SECURITY_PROTOCOL", "plaintext"), ("KAFKA_SASL_MECHANISM", "GSSAPI")],
)
def test_kafka_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        KafkaSettings.from_env({variable: value})
    lines = str(info.value).splitlines()
    assert lines[0] == "invalid Kafka environment settings:"
    assert lines[1].startswith(f"  {variable}: ")
    assert len(lines) == 2


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "svc", "KAFKA_SASL_PASSWORD": "pw"},
            "KAFKA_SASL_* is set but KAFKA_SECURITY_PROTOCOL is PLAINTEXT, so the credentials would not be sent; "
            "set KAFKA_SECURITY_PROTOCOL=SASL_SSL",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SASL_USERNAME": "svc"},
            "KAFKA_SASL_* is set but KAFKA_SECURITY_PROTOCOL is SSL, so the credentials would not be sent; "
            "set KAFKA_SECURITY_PROTOCOL=SASL_SSL",
        ),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_MECHANISM"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN",
             "KAFKA_SASL_USERNAME": "svc", "KAFKA_SASL_PASSWORD": "pw"},
            "KAFKA_SASL_MECHANISM=PLAIN over KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT sends the password in clear "
            "text; use SASL_SSL, or a SCRAM mechanism",
        ),
    ],
)
def test_sasl_settings_that_would_not_authenticate_safely_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        KafkaSettings.from_env(env)
    assert str(info.value) == f"invalid Kafka environment settings:\n  {message}"


def test_scram_over_sasl_plaintext_is_allowed() -> None:
    kafka = KafkaSettings.from_env(
        {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
         "KAFKA_SASL_USERNAME": "svc", "KAFKA_SASL_PASSWORD": "pw"}
    )
    assert kafka.sasl_mechanism == "SCRAM-SHA-256"


@pytest.mark.parametrize(
    ("servers", "url"),
    [
        ("a:9092", "kafka://a:9092"),
        ("a:9092,b:9092", "kafka://a:9092;kafka://b:9092"),
        (" a:9092 , b:9092 ,", "kafka://a:9092;kafka://b:9092"),
        ("a:1,,b:2,c:3", "kafka://a:1;kafka://b:2;kafka://c:3"),
    ],
)
def test_broker_url(servers: str, url: str) -> None:
    assert KafkaSettings(bootstrap_servers=servers).broker_url == url


def test_checklists_must_name_known_stages() -> None:
    ok = parse_settings({"checklists": {"qualified": {"content": ["company", "budget"]}, "won": {"content": ["po"]}}})
    assert ok.checklists["qualified"].content == ("company", "budget")
    with pytest.raises(ConfigError) as err:
        parse_settings({"checklists": {"demoed": {"content": ["x"]}}}, "c.yaml")
    assert "c.yaml" in str(err.value) and "unknown stages demoed" in str(err.value)


# --- process checklists and mystery checks -------------------------------------------------


def test_process_checklists_name_configured_actions() -> None:
    settings = parse_settings(
        {
            "actions": ["call", "summary_email"],
            "checklists": {"proposal": {"content": ["budget"], "process": ["summary_email", "call"]}},
        }
    )
    assert settings.checklists["proposal"].process == ("summary_email", "call")
    assert settings.checklists["proposal"].content == ("budget",)
    assert Settings().checklists == {}


def test_unknown_process_action_names_the_checklist() -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings({"checklists": {"proposal": {"process": ["summary_email", "call", "fax"]}}}, "c.yaml")
    message = str(err.value)
    assert message.startswith("c.yaml: ")
    # Unknown actions sorted; the known ones are listed to help fix the file.
    assert "checklists.proposal.process: unknown actions fax, summary_email; actions: call, cold_call," in message


def test_content_items_are_fields_not_actions() -> None:
    assert parse_settings({"checklists": {"lead": {"content": ["summary_email"]}}}).checklists["lead"].content == (
        "summary_email",
    )


def test_mystery_defaults() -> None:
    settings = Settings()
    mystery = settings.mystery
    assert mystery.rubric == {"lead_profile": 50, "call_report": 100}
    assert (mystery.deals_per_rep, mystery.reward_share, mystery.rotation_start, mystery.seed) == (
        2,
        0.8,
        "2026-01",
        "salespulse",
    )
    assert settings.retention.mystery_days == 400


def test_mystery_rotation_must_name_the_team_s_reps() -> None:
    team = {"reps": {"ann": {"name": "Ann"}, "bob": {"name": "Bob"}}, "mystery_rotation": ["bob", "ann"]}
    assert parse_settings({"teams": {"nl": team}}).teams["nl"].mystery_rotation == ("bob", "ann")
    with pytest.raises(ConfigError) as err:
        parse_settings({"teams": {"nl": {**team, "mystery_rotation": ["bob", "zed", "ann", "cas"]}}}, "x.yaml")
    message = str(err.value)
    assert message.startswith("x.yaml: teams.nl: ")
    assert message.endswith("mystery_rotation: cas, zed not among the team's reps")


def test_mystery_rotation_without_configured_reps_takes_any_ids() -> None:
    assert parse_settings({"teams": {"us": {"mystery_rotation": ["joe", "kim"]}}}).teams["us"].mystery_rotation == (
        "joe",
        "kim",
    )


@pytest.mark.parametrize(
    "team",
    [
        {"mystery_rotation": ["joe", "kim", "joe"]},
        {"reps": {"ann": {"name": "Ann"}, "bob": {"name": "Bob"}}, "mystery_rotation": ["ann", "bob", "ann"]},
    ],
)
def test_a_rep_twice_in_the_rotation_is_refused(team: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"^x\.yaml: teams\.us: .*mystery_rotation: a rep is listed twice$"):
        parse_settings({"teams": {"us": team}}, "x.yaml")


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"mystery": {"rubric": {}}}, "mystery.rubric"),
        ({"mystery": {"rubric": {"lead_profile": 0}}}, "mystery.rubric.lead_profile"),
        ({"mystery": {"rubric": {"lead_profile": 10_001}}}, "mystery.rubric.lead_profile"),
        ({"mystery": {"rubric": {"a|b": 5}}}, "mystery.rubric.a|b.[key]"),
        ({"mystery": {"deals_per_rep": 0}}, "mystery.deals_per_rep"),
        ({"mystery": {"deals_per_rep": 51}}, "mystery.deals_per_rep"),
        ({"mystery": {"reward_share": 0}}, "mystery.reward_share"),
        ({"mystery": {"reward_share": 1.01}}, "mystery.reward_share"),
        ({"mystery": {"rotation_start": "2026-13"}}, "mystery.rotation_start"),
        ({"mystery": {"rotation_start": "2026-1"}}, "mystery.rotation_start"),
        ({"mystery": {"seed": ""}}, "mystery.seed"),
        ({"retention": {"mystery_days": 61}}, "retention.mystery_days"),
        ({"teams": {"nl": {"mystery_rotation": ["a|b"]}}}, "teams.nl.mystery_rotation.0"),
    ],
)
def test_mystery_validation_errors_name_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(data, "floor.yaml")
    assert str(info.value).startswith(f"floor.yaml: {key}: ")


def test_mystery_edges_that_pass() -> None:
    mystery = parse_settings(
        {"mystery": {"rubric": {"x": 1, "y": 10_000}, "deals_per_rep": 50, "reward_share": 1, "rotation_start": "2025-12"}}
    ).mystery
    assert (mystery.rubric, mystery.deals_per_rep, mystery.reward_share, mystery.rotation_start) == (
        {"x": 1, "y": 10_000},
        50,
        1.0,
        "2025-12",
    )


ROTATION = Settings.model_validate(
    {
        "teams": {
            "nl": {"reps": {n: {"name": n} for n in ("ann", "bob", "cas", "dan")}, "mystery_rotation": ["ann", "bob", "cas"]},
            "us": {"reps": {"joe": {"name": "Joe"}}},
        }
    }
)


@pytest.mark.parametrize(
    ("month", "checker"),
    [
        ("2026-01", "ann"),  # the start month: the first of the rotation
        ("2026-02", "bob"),
        ("2026-03", "cas"),
        ("2026-04", "ann"),  # wraps around
        ("2026-11", "bob"),  # 10 months on: 10 mod 3 = 1
        ("2026-12", "cas"),
        ("2027-01", "ann"),  # 12 months on: across the year
        ("2025-12", "cas"),  # one month before the start: -1 mod 3 = 2
        ("2025-11", "bob"),
        ("2025-10", "ann"),
    ],
)
def test_checker_of(month: str, checker: str) -> None:
    assert ROTATION.checker_of("nl", month) == checker


def test_checker_of_follows_rotation_start() -> None:
    settings = ROTATION.model_copy(update={"mystery": ROTATION.mystery.model_copy(update={"rotation_start": "2026-11"})})
    assert [settings.checker_of("nl", m) for m in ("2026-10", "2026-11", "2026-12", "2027-01", "2027-02")] == [
        "cas",
        "ann",
        "bob",
        "cas",
        "ann",
    ]


@pytest.mark.parametrize("team", ["us", "unknown"])
def test_no_checker_without_a_rotation(team: str) -> None:
    assert ROTATION.checker_of(team, "2026-11") is None


@pytest.mark.parametrize(
    ("month", "index"),
    [("0000-01", 0), ("0001-01", 12), ("2026-01", 24_312), ("2026-11", 24_322), ("2026-12", 24_323)],
)
def test_month_index(month: str, index: int) -> None:
    assert month_index(month) == index


def test_consecutive_months_differ_by_one_across_the_year() -> None:
    assert month_index("2027-01") - month_index("2026-12") == 1
    assert month_index("2027-01") - month_index("2026-01") == 12


def test_an_impossible_date_names_its_line_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "defaults:\n  timezone: UTC\n  working_time:\n    holidays:\n      - 2026-12-25\n      - 2026-12-32\n",
    )
    assert config_error(path) == (
        f"{path}:6: defaults.working_time.holidays.1: 2026-12-32 is not a date (day is out of range for month); "
        "write a real date YYYY-MM-DD, or quote it"
    )
