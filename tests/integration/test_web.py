"""`salespulse web` in real Chromium on a real broker and worker: sign-in links, My week, reviews,
who may file what, CSRF, and axe-core's accessibility check on every page.

Chromium is Debian's (/usr/bin/chromium, which .ci/run installs), driven by Playwright for Python
without Playwright's own browser download. axe-core comes from npm into a cache outside the
repository (AXE_DIR), fetched here on first use.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from salespulse.kafka.launcher import LocalKafka, free_port
from salespulse.streams.topics import TopicNames
from tests.integration.conftest import REPO, Pipeline, scrape, wait_for
from tests.integration.test_pipeline import read_topic, samples

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE_DIR = Path(os.environ.get("SALESPULSE_AXE_DIR", Path.home() / ".cache" / "salespulse" / "axe"))
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "docs" / "screenshots"
SECRET = "integration-test-secret-0123456789abcdef"
ACTIONS = ["call", "cold_call", "outbound_email", "meeting"]
# How the pages name the actions (the catalogue's names of the shipped action ids).
NAMES = {"call": "Calls", "cold_call": "Cold calls", "outbound_email": "Outbound e-mails", "meeting": "Meetings"}
MONTH = datetime.now(UTC).strftime("%Y-%m")
CONFIG: dict[str, Any] = {
    "defaults": {"timezone": "UTC"},
    "actions": ACTIONS,
    "teams": {
        "amsterdam": {
            "timezone": "UTC",
            "reps": {"anna": {"name": "Anna de Vries", "email": "anna@example.com"}, "bram": {"name": "Bram Jansen"},
                     "sara": {"name": "Sara Bakker"}},
            "managers": {"mia": {"name": "Mia Manager", "email": "mia@example.com"}},
            "mystery_rotation": ["anna", "bram", "sara"],
        },
    },
    # Anna is this month's checker.
    "mystery": {"rotation_start": MONTH},
}


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """Return axe-core's axe.min.js, installing it from npm into AXE_DIR when it is not there yet."""
    if not AXE_JS.is_file():
        npm = shutil.which("npm")
        assert npm, f"npm not found: install Debian's npm package to fetch axe-core into {AXE_DIR} (.ci/run does)"
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([npm, "install", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund", "axe-core@4"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and AXE_JS.is_file(), f"npm could not install axe-core: {done.stderr[-2000:]}"
    return AXE_JS


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} not found: install Debian's chromium package (.ci/run does)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def start_web(pipeline: Pipeline, metrics_url: str, *options: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = pipeline.workdir / f"web-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "salespulse.cli", "web", "--port", str(port), "--metrics-url", metrics_url, *options],
        env=pipeline.env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: scrape(base + "/metrics") is not None or proc.poll() is not None, 60, "salespulse web to answer")
    assert proc.poll() is None, log.read_text()
    return proc, base, log


def link(pipeline: Pipeline, base: str, person: str, hours: str = "1") -> str:
    made = pipeline.cli("web", "link", person, "--base-url", base, "--valid-hours", hours)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def sign_in(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    page.goto(url)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def axe_violations(page: Page, script: Path) -> list[str]:
    """Run axe-core in the page; return its serious and critical violations, described."""
    page.add_script_tag(path=str(script))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


def series(url: str, name: str, **labels: str) -> float | None:
    for (sample, found), value in samples(scrape(url) or "").items():
        if sample == name and labels.items() <= dict(found).items():
            return value
    return None


def activity(n: int, rep: str, action: str, at: datetime, deal: str | None = None) -> bytes:
    return json.dumps({"event_id": f"crm-{n}", "type": "activity", "occurred_at": at.isoformat(), "team_id": "amsterdam",
                       "rep_id": rep, "source": "crm", "schema_version": 1, "action": action, "deal_id": deal}).encode()


def self_reports_on_kafka(kafka: LocalKafka, pipeline: Pipeline, at_least: int) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in _read(kafka, TopicNames(pipeline.app_id).self_reports, at_least)]


def test_people_file_and_review_in_chromium_and_the_worker_counts_it(
    make_pipeline, kafka: LocalKafka, browser: Browser, axe_script: Path, tmp_path: Path
) -> None:
    pipeline = make_pipeline(CONFIG)
    pipeline.env["SALESPULSE_WEB_SECRET"] = SECRET
    now = datetime.now(UTC).replace(microsecond=0)
    # The events are this week's (UTC, the team's zone), reach 6 minutes back and are read for
    # minutes after: near the turn of a week, wait until 7 minutes into the next (at most 12 minutes,
    # once a week) instead of straddling two weeks.
    into_week = now - datetime.combine(now.date() - timedelta(days=now.weekday()), datetime.min.time(), UTC)
    wait = (timedelta(minutes=7) - into_week if into_week < timedelta(minutes=7) else
            timedelta(days=7, minutes=7) - into_week if into_week > timedelta(days=7, minutes=-5) else timedelta(0))
    if wait:
        print(f"waiting {wait.total_seconds():.0f} s for the turn of the week to pass")
        time.sleep(wait.total_seconds())
        now = datetime.now(UTC).replace(microsecond=0)
    # Measured this week: anna's 3 calls and 2 cold calls, a minute or more before now.
    measured = {"call": 3, "cold_call": 2}
    lines = [activity(n, "anna", action, now - timedelta(minutes=1 + n))
             for n, action in enumerate(["call"] * 3 + ["cold_call"] * 2)]
    # Deals active this month: with two drawn per rep, the draw holds all of them (anna checks).
    deals = {"bram": ["B-1"], "sara": ["S-1", "S-2"]}
    lines += [activity(100 + n, rep, "meeting", now - timedelta(minutes=2), deal)
              for n, (rep, deal) in enumerate((rep, d) for rep, ds in deals.items() for d in ds)]
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    assert pipeline.cli("publish", str(events), "--quiet").returncode == 0
    targets = tmp_path / "targets.yaml"
    targets.write_text(json.dumps({"targets": [
        {"team": "amsterdam", "effective_from": "2026-W01", "actions": {"call": 40, "cold_call": 20}}]}))
    applied = pipeline.cli("targets", "apply", str(targets))
    assert applied.returncode == 0, applied.stderr
    metrics = pipeline.start_worker()
    wait_for(lambda: series(metrics, "salespulse_actions", rep="anna", action="cold_call", window="week") == 2
             and series(metrics, "salespulse_action_target", rep="anna", action="call") == 40, 90,
             "the worker to count anna's activities and know her targets")
    web, base, log = start_web(pipeline, metrics)
    problems: list[str] = []
    try:
        assert f"on http://127.0.0.1:{base.rsplit(':', 1)[1]}/" in log.read_text(), "binds loopback by default"

        # --- a rep: sign in with a link, read My week, file with the keyboard alone -----------------
        anna = browser.new_context(viewport={"width": 390, "height": 844})
        anna_link = link(pipeline, base, "amsterdam/anna")
        first = anna.new_page()
        first.goto(anna_link)
        problems += axe_violations(first, axe_script)
        first.get_by_role("button", name="Sign in").click()
        first.wait_for_url(base + "/self-report")
        page = first
        assert page.get_by_role("heading", level=1).inner_text().startswith("My week")
        for action, count in measured.items():
            cells = page.get_by_role("row", name=re.compile(f"^{NAMES[action]} ")).get_by_role("cell")
            assert cells.first.inner_text() == str(count)
            assert cells.last.inner_text().startswith({"call": "40: ", "cold_call": "20: "}[action])
        problems += axe_violations(page, axe_script)
        figures = {"call": 12, "cold_call": 4, "outbound_email": 7, "meeting": 1}
        for action, value in figures.items():
            page.get_by_label(NAMES[action], exact=True).fill(str(value))
        page.get_by_label("Lessons learned").fill("Calls before ten get through.")
        page.get_by_label("Lessons learned").focus()
        page.keyboard.press("Tab")  # to the send button
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Saved. Your report on" in page.get_by_role("status").inner_text()
        for action, value in figures.items():
            cells = page.get_by_role("row", name=re.compile(f"^{NAMES[action]} ")).get_by_role("cell")
            assert cells.nth(1).inner_text() == str(value), f"self-reported {action} beside the measured figure"
            assert page.get_by_label(NAMES[action], exact=True).input_value() == str(value), "kept in the form, to correct"
        problems += axe_violations(page, axe_script)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        wait_for(
            lambda: all(series(metrics, "salespulse_self_reported_actions", rep="anna", action=a, window="week") == v
                        for a, v in figures.items())
            and series(metrics, "salespulse_self_report_submitted", rep="anna", window="week") == 1,
            60, "the worker's salespulse_self_reported_actions to show anna's figures",
        )
        # --- the month's checker scores her draw; the reward is the hand-computed one ---------------
        def draw_is_complete() -> bool:
            page.goto(base + "/mystery")
            return all(page.get_by_role("heading", name=f"Deal {d}", exact=True).count() == 1
                       for ds in deals.values() for d in ds)

        wait_for(draw_is_complete, 60, "the mystery page to draw every deal active this month")
        assert "You are this month's checker" in page.locator("main").inner_text()
        problems += axe_violations(page, axe_script)
        # Met items per deal: a met item earns its full points (lead_profile 50, call_report 100), one not met 0.
        met = {"B-1": ("lead_profile", "call_report"), "S-1": ("lead_profile",), "S-2": ("lead_profile", "call_report")}
        worth = {"lead_profile": 50, "call_report": 100}
        for deal, items in met.items():
            form = page.locator("form", has=page.get_by_role("heading", name=f"Deal {deal}", exact=True))
            for item, label in (("lead_profile", "Complete lead profile"), ("call_report", "Complete call report")):
                form.get_by_role("checkbox", name=re.compile(f"^{label}")).set_checked(item in items)
            with page.expect_navigation():
                form.get_by_role("button").click()
            assert f"Saved. Your check of deal {deal} is in, and the team's score below counts it." in (
                page.get_by_role("status").inner_text())
        # Sara: 50 + 150 of 300 = 67 %, under the reward share of 80 %: not earned, said at once.
        assert sum(worth[i] for d in deals["sara"] for i in met[d]) == 200
        assert "Team reward: not earned yet" in page.locator("main").inner_text()
        assert series(metrics, "salespulse_team_reward_earned", team="amsterdam", month=MONTH) == 0
        problems += axe_violations(page, axe_script)
        # S-1 corrected with the keyboard alone: its call report was complete after all.
        form = page.locator("form", has=page.get_by_role("heading", name="Deal S-1", exact=True))
        assert form.get_by_text("Checked: 50 of 150 points").count() == 1
        form.get_by_role("checkbox", name=re.compile("^Complete call report")).focus()
        page.keyboard.press("Space")
        page.keyboard.press("Tab")  # to the send button
        with page.expect_navigation():
            page.keyboard.press("Enter")
        met["S-1"] = ("lead_profile", "call_report")
        shares = {rep: sum(worth[i] for d in ds for i in met[d]) / (150 * len(ds)) for rep, ds in deals.items()}
        assert shares == {"bram": 1.0, "sara": 1.0}
        assert "Team reward: earned" in page.locator("main").inner_text(), "the page shows the reward after sending"
        assert series(metrics, "salespulse_team_reward_earned", team="amsterdam", month=MONTH) == 1
        assert series(metrics, "salespulse_mystery_points", rep="sara", month=MONTH) == 300
        page.screenshot(path=str(SCREENSHOTS / "mystery-390x844.png"), full_page=True)

        # --- a second rep cannot file for the first -----------------------------------------------
        bram = browser.new_context()
        page = sign_in(bram, link(pipeline, base, "amsterdam/bram"))
        page.eval_on_selector("input[name=rep]", "element => element.value = 'anna'")
        page.get_by_label("Calls", exact=True).fill("99")
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Send my report").click()
        assert navigation.value is not None and navigation.value.status == 403
        problems += axe_violations(page, axe_script)
        reports = self_reports_on_kafka(kafka, pipeline, 2)
        assert [(r["rep_id"], r["figures"]) for r in reports] == [("anna", figures)], "bram's attempt reached Kafka"
        page.goto(base + "/mystery")
        assert "This month's checker is Anna de Vries." in page.locator("main").inner_text()

        # --- a manager scores two calls; the worker's average is the hand-computed mean -----------
        mia = browser.new_context(viewport={"width": 1280, "height": 800})
        page = sign_in(mia, link(pipeline, base, "amsterdam/mia"))
        assert page.url == f"{base}/team/amsterdam"
        assert page.get_by_role("row", name=re.compile("^Anna de Vries")).get_by_role("cell").first.inner_text() == "filed"
        assert "The checker is Anna de Vries: 3 of 3 drawn deals checked." in page.locator("main").inner_text()
        problems += axe_violations(page, axe_script)
        scored = [{"opening": 4, "closing": 2, "pain_points": 5}, {"opening": 3, "closing": 5, "pain_points": 4}]
        themes = {"opening": "Opening", "closing": "Closing", "pain_points": "Pain points"}
        notes = ["Strong opening; ask for the next step.", "Good pace; name the price sooner."]
        for number, scores in enumerate(scored):
            page.goto(base + "/reviews/new?subject=call")
            page.get_by_label("Rep", exact=True).select_option(label="Anna de Vries")
            page.get_by_label("Deal (optional)").fill(f"D-{number}")
            for theme, score in scores.items():
                page.get_by_role("group", name=themes[theme], exact=True).get_by_label(str(score), exact=True).check()
            page.get_by_label("Note to the rep").fill(notes[number])
            if number == 0:
                problems += axe_violations(page, axe_script)
                page.screenshot(path=str(SCREENSHOTS / "review-form.png"), full_page=True)
            with page.expect_navigation() as navigation:
                page.get_by_role("button", name="Send the review").click()
            assert navigation.value is not None and navigation.value.status == 200
            assert "Saved. Your review of Anna de Vries is in" in page.get_by_role("status").inner_text()
        for theme in scored[0]:
            mean = sum(s[theme] for s in scored) / len(scored)
            wait_for(lambda: series(metrics, "salespulse_review_score_avg", rep="anna", subject="call", theme=theme) == mean,
                     60, f"salespulse_review_score_avg of {theme} to be {mean}")
        assert series(metrics, "salespulse_reviews", rep="anna", subject="call") == 2

        # --- a review published elsewhere reaches the pages through Kafka ----------------------------
        peer = tmp_path / "review.jsonl"
        peer.write_text(json.dumps({
            "type": "review", "event_id": "crm-review-1", "occurred_at": now.isoformat(), "team_id": "amsterdam",
            "rep_id": "anna", "source": "crm", "reviewer_id": "sara", "subject": "proposal",
            "scores": {"clarity": 5, "value": 4, "next_steps": 3}, "note": "Published: a clear proposal."}) + "\n")
        assert pipeline.cli("publish", str(peer), "--quiet").returncode == 0

        def team_shows_the_published_review() -> bool:
            page.goto(f"{base}/team/amsterdam")
            return "Published: a clear proposal." in page.locator("main").inner_text()

        wait_for(team_shows_the_published_review, 30, "the team page to show the review published with `publish`")
        main = page.locator("main").inner_text()
        assert all(note in main for note in notes)
        assert page.get_by_role("row", name=re.compile("^Anna de Vries")).get_by_role("cell").nth(1).inner_text() == "3"

        # --- the manager makes sara a sign-in link on the team page; it signs her in once --------------
        page.get_by_role("button", name="Make a sign-in link for Sara Bakker").click()
        page.wait_for_load_state()
        made = page.get_by_label("Sign-in link for Sara Bakker").input_value()
        assert made.startswith(f"{base}/signin?token=")
        problems += axe_violations(page, axe_script)
        page.screenshot(path=str(SCREENSHOTS / "team-1280x800.png"), full_page=True)
        page.goto(f"{base}/team/amsterdam")
        assert page.get_by_label("Sign-in link for Sara Bakker").count() == 0, "shown once"
        sara = sign_in(browser.new_context(), made)
        assert sara.url == f"{base}/self-report" and "Sara Bakker" in sara.locator("header").inner_text()
        assert not any(note in sara.locator("main").inner_text() for note in (*notes, "Published: a clear proposal."))

        # --- anna reads her reviews, scores and notes, on My week; bram reads none of them ------------
        page = anna.new_page()
        page.goto(base + "/self-report")
        reviews = page.locator("section", has=page.get_by_role("heading", name="Reviews of my work, last 30 days")).inner_text()
        assert all(note in reviews for note in (*notes, "Published: a clear proposal."))
        assert "Proposal on" in reviews and "reviewed by Sara Bakker" in reviews and "Clarity: 5" in reviews
        assert "Opening: 4" in reviews and "Opening: 3" in reviews
        problems += axe_violations(page, axe_script)
        page.screenshot(path=str(SCREENSHOTS / "my-week-390x844.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(SCREENSHOTS / "my-week-1280x800.png"), full_page=True)
        page = bram.new_page()
        for path in ("/self-report", "/self-report?rep=anna", "/mystery", "/team/amsterdam", "/reviews/new"):
            page.goto(base + path)
            text = page.content()
            assert not any(note in text for note in (*notes, "Published: a clear proposal.", "Calls before ten")), path
        assert page.goto(base + "/team/amsterdam").status == 403  # type: ignore[union-attr]
        assert not problems, "\n".join(problems)
    finally:
        web.terminate()
        web.wait(timeout=30)


def test_sign_in_and_forms_refuse_what_they_should(
    make_pipeline, kafka: LocalKafka, browser: Browser, axe_script: Path
) -> None:
    pipeline = make_pipeline(CONFIG)
    pipeline.env["SALESPULSE_WEB_SECRET"] = SECRET
    assert pipeline.cli("publish", "/dev/null").returncode == 0
    metrics = f"http://127.0.0.1:{free_port()}/metrics"  # no worker: the pages say the figures are missing
    web, base, _ = start_web(pipeline, metrics)
    problems: list[str] = []
    try:
        # No session: every page is the sign-in page.
        page = browser.new_context().new_page()
        for path in ("/", "/self-report", "/reviews/new", "/mystery", "/team/amsterdam"):
            answer = page.goto(base + path)
            assert answer is not None and answer.status == 401, path
            assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
        problems += axe_violations(page, axe_script)

        def refused(url: str, why: str) -> None:
            page = browser.new_context().new_page()
            page.goto(url)
            with page.expect_navigation() as navigation:
                page.get_by_role("button", name="Sign in").click()
            assert navigation.value is not None and navigation.value.status == 403, url
            assert why in page.get_by_role("alert").inner_text()
            assert page.goto(base + "/self-report").status == 401  # type: ignore[union-attr]

        good = link(pipeline, base, "amsterdam/anna")
        payload, stamp, signature = good.split("=", 1)[1].rsplit(".", 2)
        bram = link(pipeline, base, "amsterdam/bram").split("=", 1)[1].rsplit(".", 2)[0]
        refused(f"{base}/signin?token={bram}.{stamp}.{signature}", "not a valid sign-in link")
        refused(f"{base}/signin?token={payload}.{stamp}.{signature[:-4]}AAAA", "not a valid sign-in link")
        short = link(pipeline, base, "amsterdam/anna", hours="0.0005")  # 1.8 s
        time.sleep(3)
        refused(short, "has expired")
        anna = sign_in(browser.new_context(), good)
        assert anna.url == base + "/self-report"
        refused(good, "used before")

        # CSRF: a form sent without the session's token, or with another, is refused.
        form = {"form_id": "form-0123456789", "team": "amsterdam", "rep": "anna", "week": "week", "call": "5"}
        token = anna.locator("input[name=csrf_token]").first.get_attribute("value")
        assert token
        assert anna.request.post(base + "/self-report", form=form).status == 403
        assert anna.request.post(base + "/self-report", form={**form, "csrf_token": token[::-1]}).status == 403
        assert anna.request.post(base + "/signout", form={}).status == 403
        assert self_reports_on_kafka(kafka, pipeline, 1) == []

        # The trusted header means nothing unless --trust-header names it.
        header = browser.new_context(extra_http_headers={"X-Forwarded-Email": "anna@example.com"}).new_page()
        answer = header.goto(base + "/self-report")
        assert answer is not None and answer.status == 401
        problems += axe_violations(header, axe_script)
        assert not problems, "\n".join(problems)
    finally:
        web.terminate()
        web.wait(timeout=30)
    trusted, base, _ = start_web(pipeline, metrics, "--trust-header", "X-Forwarded-Email")
    try:
        page = browser.new_context(extra_http_headers={"X-Forwarded-Email": "Anna@Example.com"}).new_page()
        answer = page.goto(base + "/")
        assert answer is not None and answer.status == 200 and page.url == base + "/self-report"
    finally:
        trusted.terminate()
        trusted.wait(timeout=30)


def test_with_the_broker_down_the_form_says_nothing_was_saved_and_sends_once_when_it_is_back(
    browser: Browser, tmp_path: Path
) -> None:
    # A broker of this test's own, on storage it keeps, so that stopping it touches no other test.
    (tmp_path / "broker").mkdir()
    broker = LocalKafka(data_dir=tmp_path / "broker").start()
    workdir = tmp_path / "pipeline"
    workdir.mkdir()
    pipeline = Pipeline(broker, workdir, CONFIG)
    pipeline.env["SALESPULSE_WEB_SECRET"] = SECRET
    web = None
    try:
        assert pipeline.cli("publish", "/dev/null").returncode == 0
        web, base, _ = start_web(pipeline, f"http://127.0.0.1:{free_port()}/metrics")
        page = sign_in(browser.new_context(), link(pipeline, base, "amsterdam/anna"))
        page.get_by_label("Calls", exact=True).fill("5")
        with page.expect_navigation():
            page.get_by_role("button", name="Send my report").click()
        assert "Saved" in page.get_by_role("status").inner_text(), "the producer is up before the broker goes"

        page.get_by_label("Calls", exact=True).fill("8")
        page.get_by_label("Lessons learned").fill("Typed while Kafka was away.")
        broker.stop()
        with page.expect_navigation(timeout=60_000) as navigation:
            page.get_by_role("button", name="Send my report").click()
        assert navigation.value is not None and navigation.value.status == 503
        assert "Nothing was saved" in page.get_by_role("alert").inner_text()
        assert page.get_by_label("Calls", exact=True).input_value() == "8"
        assert page.get_by_label("Lessons learned").input_value() == "Typed while Kafka was away."

        broker.start()
        with page.expect_navigation(timeout=60_000) as navigation:
            page.get_by_role("button", name="Send my report").click()
        assert navigation.value is not None and navigation.value.status == 200, page.locator("main").inner_text()
        reports = [json.loads(r.value) for r in _read(broker, TopicNames(pipeline.app_id).self_reports, 3)]
        assert [r["figures"] for r in reports][:1] == [{"call": 5}]
        later = reports[1:]
        # The form sent while the broker was away may yet have reached it; either way one event id.
        assert later and {r["event_id"] for r in later} == {later[0]["event_id"]} and later[0]["figures"] == {"call": 8}
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        broker.stop()


def _read(kafka: LocalKafka, topic: str, at_least: int) -> list:
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, read_topic(kafka.bootstrap, topic, at_least, timeout_s=10)).result()
