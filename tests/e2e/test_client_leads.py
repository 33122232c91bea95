"""What leads, SMEs and moderation systems do with `modqa` against the four services: a DSA
statements-of-reasons CSV ingested with its refused rows, a dispute overturned by an SME, a
critical miss acknowledged and resolved, a calibration round adjudicated, a weekly report.

Each test works in its own market with its own people, so the tests share one system without
seeing each other's tasks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from modqa_client.dsa import enums
from shared.auth import Role
from tests.support.cli import Cli, a_decision, a_task, send_tasks
from tests.support.kafka import read_all
from tests.support.system import RunningSystem
from tests.support.waiting import eventually

SYSTEM_ENV = {
    # a plan applied by the test comes into force after seconds, not the default half minute
    "MODQA_SAMPLER_ACTIVATION_DELAY_SECONDS": "8",
    "MODQA_SAMPLER_TRAFFIC_FLUSH_SECONDS": "1",
}


@pytest.fixture(scope="module")
def cli(system: RunningSystem, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return Cli(system, tmp_path_factory.mktemp("modqa-config"))


async def person(cli: Cli, name: str, role: Role, **registry: object) -> str:
    """A registered person with a profile of their own; returns the profile name."""
    await cli.register(name, **registry)
    cli.profile(name, cli.token(name, role))
    return name


def statement(n: int, **fields: str) -> dict[str, str]:
    row = {column: "" for column in enums()["columns"]}
    row.update(
        uuid=f"6f1e3c2a-0000-4000-8000-{n:012d}",
        decision_visibility='["DECISION_VISIBILITY_CONTENT_REMOVED"]',
        decision_ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        content_type='["CONTENT_TYPE_VIDEO"]',
        content_language="DE",
        territorial_scope='["DE"]',
        application_date=f"{dt.datetime.now(dt.UTC) - dt.timedelta(hours=1):%Y-%m-%d %H:%M:%S}",
        source_type="SOURCE_ARTICLE_16",
        automated_detection="No",
        automated_decision="AUTOMATED_DECISION_NOT_AUTOMATED",
        platform_name="Example Video",
        platform_uid=f"vid-{n}",
    )
    row.update(fields)
    return row


async def test_a_dsa_csv_is_ingested_and_the_refused_rows_are_reported(
    cli: Cli, tmp_path: Path
) -> None:
    cli.profile("upstream", cli.token("upstream", Role.SYSTEM))
    rows = [statement(n) for n in range(30)]
    rows[4]["category"] = "STATEMENT_CATEGORY_NOT_A_CATEGORY"
    rows[11]["content_language"] = "german"
    rows[19]["decision_visibility"] = ""
    file = tmp_path / "sor-2026-11.csv"
    with file.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=enums()["columns"])
        writer.writeheader()
        writer.writerows(rows)

    shown = cli.run("upstream", "ingest", str(file), "--queue", "dsa")
    assert shown.code == 1, shown.stderr  # some rows were refused
    assert "27 decision(s) accepted from sor-2026-11.csv (dsa); 3 refused." in shown.stdout
    assert "Refused rows" in shown.stdout
    scripted = cli.run("upstream", "ingest", str(file), "--queue", "dsa", "--json")
    report = json.loads(scripted.stdout)
    assert scripted.code == 1 and report["accepted"] == 27
    assert [(r["row"], r["statement"], r["reason"]) for r in report["refused"]] == [
        (6, rows[4]["uuid"], "category: unknown value 'STATEMENT_CATEGORY_NOT_A_CATEGORY'"),
        (13, rows[11]["uuid"], "content_language: 'german' is not an ISO 639 code"),
        (
            21,
            rows[19]["uuid"],
            "decision type: no visibility, account, provision or monetary decision",
        ),
    ]
    for field in ("category:", "content_language:", "decision type:"):
        assert field in shown.stdout

    records = await read_all(cli.system.bootstrap, cli.system.topics.decisions)
    sent = [json.loads(r.value) for r in records]
    ingested = {d["decision_id"] for d in sent if d["decision_id"].startswith("dsa-")}
    assert len(ingested) == 27
    one = next(d for d in sent if d["decision_id"] == f"dsa-{rows[0]['uuid']}")
    assert (one["market"], one["language"], one["queue"], one["action"]) == (
        "DE",
        "de",
        "dsa",
        "remove",
    )
    assert (one["category"], one["moderator_kind"], one["source"]) == (
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "human",
        "report",
    )


async def test_a_dispute_raised_by_a_team_lead_is_overturned_by_an_sme(cli: Cli) -> None:
    auditor = await person(cli, "cy", Role.AUDITOR, languages=["fr"], markets=["FR"])
    lead = await person(cli, "lena", Role.LEAD, languages=["fr"], roles=["lead"], teams=["team-fr"])
    sme = await person(cli, "sol", Role.SME, languages=["fr"], roles=["sme"])
    decision = a_decision(
        "dis-1", market="FR", language="fr", moderator_id="mod-fr", moderator_team="team-fr"
    )
    await send_tasks(cli.system, [a_task(decision)])

    task = cli.run(auditor, "tasks", "next", "--json").json()
    assert task["decision"]["decision_id"] == "dis-1"
    verdict = cli.run(auditor, "verdict", task["task_id"], "--outcome", "correct", "--json").json()

    raised = cli.run(lead, "dispute", verdict["verdict_id"], "--reason", "it was a joke, not spam")
    assert raised.code == 0, raised.stderr
    assert "an SME rules on it by" in raised.stdout
    [open_dispute] = [
        d
        for d in cli.run(sme, "disputes", "list", "--json").json()
        if d["verdict_id"] == verdict["verdict_id"]
    ]
    assert (open_dispute["status"], open_dispute["raised_by"]) == ("open", "lena")
    shown = cli.run(sme, "disputes", "show", open_dispute["dispute_id"])
    assert "it was a joke, not spam" in shown.stdout and "Disputed verdict" in shown.stdout

    ruled = cli.run(
        sme,
        "disputes",
        "resolve",
        open_dispute["dispute_id"],
        "--overturn",
        "--outcome",
        "incorrect",
        "--action",
        "approve",
        "--note",
        "satire is allowed",
        "--json",
    ).json()
    assert ruled["dispute"]["status"] == "overturned"
    amended = ruled["amended_verdict"]
    assert amended["supersedes"] == verdict["verdict_id"] and amended["final"] is True
    assert (amended["outcome"], amended["expected_action"], amended["error_type"]) == (
        "incorrect",
        "approve",
        "over_enforcement",
    )
    assert ruled["dispute"]["amended_verdict_id"] == amended["verdict_id"]
    stats = cli.run(auditor, "me", "--json").json()["stats"]
    assert (stats["disputed"], stats["overturned"]) == (1, 1)
    again = cli.run(
        sme, "disputes", "resolve", open_dispute["dispute_id"], "--uphold", "--note", "x"
    )
    assert again.code == 1 and "audit refused" in again.stderr


async def test_a_critical_miss_is_acknowledged_and_resolved(cli: Cli) -> None:
    auditor = await person(cli, "dee", Role.AUDITOR, languages=["pt"], markets=["BR"])
    lead = await person(cli, "lou", Role.LEAD, languages=["pt"], roles=["lead"])
    decision = a_decision(
        "esc-1",
        market="BR",
        language="pt",
        moderator_id="mod-br",
        policy_id="child_safety",
        policy_version=2,
        action="approve",
    )
    await send_tasks(cli.system, [a_task(decision)])
    task = cli.run(auditor, "tasks", "next", "--json").json()
    judged = cli.run(
        auditor, "verdict", task["task_id"], "--outcome", "incorrect", "--action", "remove"
    )
    assert judged.code == 0, judged.stderr
    assert "under enforcement, critical" in judged.stdout

    filters = ("--kind", "critical_miss", "--status", "open", "--moderator", "mod-br", "--json")
    page = await eventually(
        lambda: cli.run(lead, "escalations", "list", *filters).json(),
        until=lambda page: len(page["items"]) == 1,
        timeout_s=30,
        what="the critical miss opened a case",
    )
    case = page["items"][0]
    assert (case["severity"], case["subject"]) == ("p0", "decision:esc-1")
    listed = cli.run(lead, "escalations", "list", "--moderator", "mod-br")
    assert case["escalation_id"] in listed.stdout

    acked = cli.run(lead, "escalations", "ack", case["escalation_id"], "--note", "on it", "--json")
    assert acked.json()["status"] == "acknowledged"
    no_cause = cli.run(lead, "escalations", "resolve", case["escalation_id"], "--resolution", "x")
    assert no_cause.code == 1 and "root_cause" in no_cause.stderr
    resolved = cli.run(
        lead,
        "escalations",
        "resolve",
        case["escalation_id"],
        "--resolution",
        "content removed, moderator coached",
        "--root-cause",
        "training_gap",
        "--json",
    ).json()
    assert (resolved["status"], resolved["root_cause"]) == ("resolved", "training_gap")
    history = cli.run(lead, "escalations", "show", case["escalation_id"]).stdout
    for change in ("opened", "acknowledged", "resolved", "on it", "training_gap"):
        assert change in history


async def test_a_disagreeing_calibration_round_is_adjudicated_by_an_sme(cli: Cli) -> None:
    first = await person(cli, "eli", Role.AUDITOR, languages=["ja"], markets=["JP"])
    second = await person(cli, "fay", Role.AUDITOR, languages=["ja"], markets=["JP"])
    sme = await person(cli, "sid", Role.SME, languages=["ja"], roles=["sme"])
    decision = a_decision("cal-1", market="JP", language="ja", moderator_id="mod-jp")
    task = a_task(decision, reasons=["calibration"], required_reviews=2)
    await send_tasks(cli.system, [task])

    for auditor, judgement in (
        (first, ["--outcome", "correct"]),
        (second, ["--outcome", "incorrect", "--action", "approve"]),
    ):
        claimed = cli.run(auditor, "tasks", "next", "--json").json()
        assert claimed["task_id"] == task.task_id and claimed["required_reviews"] == 2
        done = cli.run(auditor, "verdict", task.task_id, *judgement)
        assert done.code == 0, done.stderr

    waiting = cli.run(sme, "calibration", "pending", "--json").json()
    assert [t["task_id"] for t in waiting] == [task.task_id]
    shown = cli.run(sme, "calibration", "show", task.task_id)
    assert "eli" in shown.stdout and "fay" in shown.stdout and "adjudicating" in shown.stdout
    closing = cli.run(
        sme, "calibration", "adjudicate", task.task_id, "--outcome", "correct", "--json"
    ).json()
    assert (closing["auditor_id"], closing["final"], closing["round"]) == ("sid", True, 3)
    assert closing["calibration_agreed"] is False
    assert cli.run(sme, "calibration", "pending", "--json").json() == []


async def test_the_weekly_report_is_rendered_for_a_market(cli: Cli) -> None:
    auditor = await person(cli, "gus", Role.AUDITOR, languages=["sv"], markets=["SE"])
    lead = await person(cli, "liv", Role.LEAD, languages=["sv"], roles=["lead"])
    decisions = [
        a_decision(f"rep-{n}", market="SE", language="sv", moderator_id=f"mod-se-{n}")
        for n in range(3)
    ]
    await send_tasks(cli.system, [a_task(d) for d in decisions])
    for n in range(3):
        task = cli.run(auditor, "tasks", "next", "--json").json()
        judgement = (
            ["--outcome", "correct"] if n else ["--outcome", "incorrect", "--action", "approve"]
        )
        assert cli.run(auditor, "verdict", task["task_id"], *judgement).code == 0

    year, week, _ = dt.datetime.now(dt.UTC).isocalendar()
    which = ("report", "weekly", "--week", f"{year}-W{week:02d}", "--market", "SE")
    body = await eventually(
        lambda: cli.run(lead, *which, "--json").json(),
        until=lambda body: body["judged"] == 3,
        timeout_s=30,
        what="metrics counted the three verdicts",
    )
    assert body["headline"]["n"] == 3
    shown = cli.run(lead, *which)
    assert shown.code == 0, shown.stderr
    assert f"Weekly quality, SE, {body['period_start']} to {body['period_end']}" in shown.stdout
    assert "Accuracy 66.7% (" in shown.stdout and "over 3 judged (0 unsure)" in shown.stdout
    assert "over enforcement" in shown.stdout
    markdown = cli.run(lead, *which, "--format", "md").stdout
    assert markdown.startswith("# Weekly quality report: SE")
    assert "**Accuracy: 66.7%" in markdown
    sheet = list(csv.DictReader(io.StringIO(cli.run(lead, *which, "--format", "csv").stdout)))
    assert (sheet[0]["section"], sheet[0]["name"], sheet[0]["accuracy_n"]) == (
        "headline",
        "SE",
        "3",
    )

    today = f"{dt.datetime.now(dt.UTC):%Y-%m-%d}"
    day = ("report", "daily", "--date", today, "--market", "SE")
    assert cli.run(lead, *day, "--json").json()["judged"] == 3
    daily = cli.run(lead, *day)
    assert daily.code == 0, daily.stderr
    assert f"Daily quality, SE, {today} to {today}" in daily.stdout
    assert "over 3 judged (0 unsure)" in daily.stdout


PROPOSED_PLAN = """\
description: more audits of the Dutch market
base_rate: 0.1
floor: 0.01
strata: [market]
rates:
  - match: {market: [NL]}
    rate: 0.5
"""

INVALID_PLAN = """\
base_rate: 0.1
floor: 0
risk:
  low_confidence: {below: 2, rate: 0.5}
"""


def decisions_file(path: Path, prefix: str, n: int, **fields: object) -> Path:
    """Dutch decisions as JSON Lines, the format moderation systems send with `modqa ingest`."""
    decisions = [
        a_decision(f"{prefix}-{i}", market="NL", language="nl", moderator_id=f"mod-nl-{i % 5}")
        for i in range(n)
    ]
    lines = [d.model_copy(update=fields).model_dump_json(by_alias=True) for d in decisions]
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_a_sampling_plan_is_forecast_then_applied_and_an_invalid_one_refused(
    cli: Cli, tmp_path: Path
) -> None:
    cli.profile("max", cli.token("max", Role.LEAD))
    cli.profile("feed", cli.token("feed", Role.SYSTEM))
    before = cli.run("max", "plan", "show")
    assert before.code == 0, before.stderr
    assert "In force: default version 1 (base rate 0.1)" in before.stdout
    assert "no plan applied yet" in before.stdout

    sent = cli.run(
        "feed", "ingest", str(decisions_file(tmp_path / "nl.jsonl", "nl", 200)), "--json"
    )
    assert (sent.json()["format"], sent.json()["accepted"], sent.json()["refused"]) == (
        "jsonl",
        200,
        [],
    )

    plan = tmp_path / "NL audits.yaml"
    plan.write_text(PROPOSED_PLAN)
    forecast = await eventually(
        lambda: cli.run("max", "plan", "diff", str(plan), "--days", "2", "--json").json(),
        until=lambda f: (
            f["traffic_sample"] >= 200 and any(s["stratum"] == "market=NL" for s in f["strata"])
        ),
        timeout_s=60,
        what="the sampler's traffic summary holds the Dutch decisions",
    )
    assert (forecast["current"]["plan_id"], forecast["proposed"]["plan_id"]) == (
        "default",
        "nl-audits",
    )
    nl = next(s for s in forecast["strata"] if s["stratum"] == "market=NL")
    assert nl["proposed_tasks_per_day"] == pytest.approx(5 * nl["current_tasks_per_day"])
    assert nl["proposed_half_width"] < nl["current_half_width"]
    for other in (s for s in forecast["strata"] if s["stratum"] != "market=NL"):
        assert other["proposed_tasks_per_day"] == pytest.approx(other["current_tasks_per_day"])
    diff = cli.run("max", "plan", "diff", str(plan), "--days", "2")
    assert diff.code == 0, diff.stderr
    assert "Plan default v1 (in force) -> nl-audits (proposed)" in diff.stdout
    for shown in ("rates", "strata", '["market"]', "floor", "Forecast on 2 day(s)", "market=NL"):
        assert shown in diff.stdout

    declined = cli.run("max", "plan", "apply", str(plan), stdin="n\n")
    assert declined.code == 1 and "Nothing changed." in declined.stdout
    assert "market=NL" in declined.stdout, "the forecast comes before the question"
    assert cli.run("max", "plan", "show", "--json").json()["plans"] == []

    applied = cli.run("max", "plan", "apply", str(plan), "--yes")
    assert applied.code == 0, applied.stderr
    assert "NL audits.yaml: stored as nl-audits version 1; in force from" in applied.stdout
    await eventually(
        lambda: cli.staff_get("sampler", "/v1/sampling-plans/current"),
        until=lambda c: (c["plan_id"], c["version"]) == ("nl-audits", 1),
        timeout_s=60,
        what="the applied plan came into force",
    )
    current = cli.run("max", "plan", "show", "--json").json()["current"]
    assert (current["plan_id"], current["version"]) == ("nl-audits", 1)
    assert current["document"]["rates"] == [{"match": {"market": ["NL"]}, "rate": 0.5}]
    shown = cli.run("max", "plan", "show")
    assert "In force: nl-audits version 1 (base rate 0.1) since" in shown.stdout
    versions = cli.run("max", "plan", "show", "nl-audits", "--json").json()
    assert [(v["version"], v["created_by"]) for v in versions] == [(1, "max")]
    again = cli.run("max", "plan", "apply", str(plan), "--yes", "--json").json()
    assert (again["stored"]["version"], again["stored"]["created"]) == (1, False)

    later = decisions_file(
        tmp_path / "later.jsonl", "nl-later", 40, decided_at=dt.datetime.now(dt.UTC)
    )
    assert cli.run("feed", "ingest", str(later)).code == 0

    async def sampled() -> list[dict]:
        tasks = [
            json.loads(r.value)
            for r in await read_all(cli.system.bootstrap, cli.system.topics.tasks)
        ]
        return [t for t in tasks if t["decision"]["decision_id"].startswith("nl-later-")]

    tasks = await eventually(sampled, until=bool, timeout_s=30, what="tasks under the new plan")
    assert {
        (t["plan_id"], t["plan_version"], t["stratum"], t["inclusion_probability"]) for t in tasks
    } == {("nl-audits", 1, "market=NL", 0.5)}

    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(INVALID_PLAN)
    for command in (["diff"], ["apply", "--yes"]):
        refused = cli.run("max", "plan", *command, str(invalid))
        assert refused.code == 1, refused.stdout
        assert refused.stderr.startswith("error: sampler refused: invalid plan:")
        assert "floor:" in refused.stderr and "risk.low_confidence.below:" in refused.stderr
        assert refused.stderr.strip().count("\n") == 0 and "Traceback" not in refused.stderr
    stored = cli.run("max", "plan", "show", "--json").json()["plans"]
    assert [p["plan_id"] for p in stored] == ["nl-audits"]
