"""An auditor's review session with `modqa review` in a pseudo-terminal, against the four
services: normal and blind tasks judged from the keyboard, a verdict kept through an audit
outage and sent once afterwards, and plain one-line errors for a bad token."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from shared.auth import Role
from tests.support.cli import Cli, a_decision, a_task, send_tasks
from tests.support.system import RunningSystem
from tests.support.terminal import Terminal


@pytest.fixture(scope="module")
def cli(system: RunningSystem, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return Cli(system, tmp_path_factory.mktemp("modqa-config"))


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.close()


def key_of(menu: str, action: str) -> str:
    """The number a menu line gives an action: `[2] remove` -> "2"."""
    found = re.search(rf"\[(\d)\] {action}\b", menu)
    assert found, f"{action} not offered in: {menu}"
    return found.group(1)


async def test_a_review_session_in_normal_and_blind_mode_from_the_keyboard(
    cli: Cli, terminals: list[Terminal]
) -> None:
    await cli.register("ana", markets=["KR"])
    cli.login("ana", cli.token("ana", Role.AUDITOR))
    spam_removal = a_decision("rev-1", policy_id="spam", action="remove")
    missed_csam = a_decision(
        "rev-2", policy_id="child_safety", policy_version=2, action="approve", queue="comments"
    )
    hidden_label = a_decision("rev-3", policy_id="hate_speech", policy_version=2, action="label")
    hidden_approval = a_decision("rev-4", policy_id="spam", action="approve", moderator_id="mod-9")
    tasks = [
        a_task(spam_removal, priority=90),
        a_task(missed_csam, priority=80),
        a_task(hidden_label, priority=70, blind=True),
        a_task(hidden_approval, priority=60, blind=True),
    ]
    await send_tasks(cli.system, tasks)

    def panel_of(n: int) -> str:
        return rf"(?s)╭─ {re.escape(tasks[n].task_id)}.*?\[q\] quit >"

    screen = cli.terminal("ana", "review")
    terminals.append(screen)
    # 1. a correct removal
    panel = screen.expect(panel_of(0)).group(0)
    assert "https://content.example/video/rev-1" in panel
    assert "REMOVE" in panel and "under spam" in panel and "mod-7 (human, team team-a)" in panel
    screen.press("c")
    screen.expect("Notes")
    screen.press("\r")
    screen.expect(r"Recorded \S+: correct")
    # 2. a missed violation: incorrect, the decision's own policy (Enter), remove
    panel = screen.expect(panel_of(1)).group(0)
    assert "APPROVE" in panel and "child_safety" in panel
    screen.press("i")
    screen.expect(r"Policy that applies \(Enter: child_safety")
    screen.press("\r")
    menu = screen.expect(r"Expected action under child_safety:.*>").group(0)
    assert "suspend_account" in menu  # version 2 of the policy allows it
    screen.press(key_of(menu, "remove"))
    screen.expect("Notes")
    screen.press("missed CSAM\r")
    recorded = screen.expect(r"Recorded [^\n]*\n").group(0)
    assert "incorrect, expected remove, under child_safety, under enforcement, critical" in recorded
    # 3. blind: the action and the moderator are hidden; the auditor labels the content
    panel = screen.expect(panel_of(2)).group(0)
    assert "BLIND REVIEW" in panel and "https://content.example/video/rev-3" in panel
    assert "hate_speech" not in panel and "LABEL" not in panel and "mod-7" not in panel
    screen.press("v")
    screen.expect("Policy it violates:")
    screen.press("hate_speech\r")
    menu = screen.expect(r"Expected action under hate_speech:.*>").group(0)
    assert "approve" not in menu
    screen.press(key_of(menu, "remove"))
    screen.expect("Notes")
    screen.press("\r")
    recorded = screen.expect(r"Recorded [^\n]*\n").group(0)
    assert "labelled remove under hate_speech" in recorded
    assert "correct" not in recorded, "a blind reviewer must not learn the derived outcome"
    # 4. blind again: approve
    panel = screen.expect(panel_of(3)).group(0)
    assert "mod-9" not in panel and "APPROVE" not in panel
    screen.press("x")  # a key that is not offered is refused and asked again
    screen.expect(r"press one of a/v/u/s/q")
    screen.press("a")
    screen.expect("Notes")
    screen.press("\r")
    screen.expect("labelled approve")
    screen.expect("No more tasks for you right now")
    screen.expect(r"4 verdict\(s\) recorded, 0 saved")
    assert screen.wait() == 0

    page = await cli.staff_get("audit", "/v1/verdicts", auditor_id="ana")
    verdicts = {v["decision_id"]: v for v in page["items"]}
    assert set(verdicts) == {"rev-1", "rev-2", "rev-3", "rev-4"}
    assert verdicts["rev-1"]["outcome"] == "correct" and not verdicts["rev-1"]["blind"]
    assert (verdicts["rev-2"]["outcome"], verdicts["rev-2"]["error_type"]) == (
        "incorrect",
        "under_enforcement",
    )
    assert verdicts["rev-2"]["notes"] == "missed CSAM"
    # the blind labels were compared with the hidden decisions by the service
    assert verdicts["rev-3"]["blind"] and verdicts["rev-3"]["outcome"] == "incorrect"
    assert verdicts["rev-3"]["error_type"] == "wrong_action"
    assert verdicts["rev-4"]["blind"] and verdicts["rev-4"]["outcome"] == "correct"


async def test_a_verdict_outlives_an_audit_outage_and_is_recorded_once(
    cli: Cli, terminals: list[Terminal]
) -> None:
    await cli.register("bo", markets=["ID"], languages=["id"])
    cli.profile("bo", cli.token("bo", Role.AUDITOR))
    decision = a_decision("out-1", market="ID", language="id", moderator_id="mod-3")
    await send_tasks(cli.system, [a_task(decision)])
    audit = cli.system.processes["audit"]

    screen = cli.terminal("bo", "review")
    terminals.append(screen)
    screen.expect(rf"(?s)╭─ {re.escape(a_task(decision).task_id)}.*?\[q\] quit >")
    audit.stop()  # the service goes away while the auditor judges
    try:
        screen.press("c")
        screen.expect("Notes")
        screen.press("looks right\r")
        screen.expect(r"cannot take it now", timeout_s=60)
        screen.expect(r"it is sent before your next claim")
        screen.expect(r"\[r\] retry now  \[q\] quit >", timeout_s=60)
        saved = json.loads(cli.pending_file("bo").read_text())["pending"]
        assert [(p["task_id"], p["verdict"]["notes"]) for p in saved] == [
            (a_task(decision).task_id, "looks right")
        ]
        assert (cli.pending_file("bo").stat().st_mode & 0o777) == 0o600
        screen.press("q")
        screen.expect(r"0 verdict\(s\) recorded, 1 saved to send later")
        assert screen.wait() == 0
    finally:
        audit.start()
        audit.wait_ready()

    # the next session sends it first (same idempotency key), then finds nothing else to do
    again = cli.run("bo", "review", stdin="q\n")
    assert again.code == 0, again.stderr
    assert "Sent 1 saved verdict(s)" in again.stdout
    assert "No more tasks for you right now" in again.stdout
    assert json.loads(cli.pending_file("bo").read_text())["pending"] == []
    page = await cli.staff_get("audit", "/v1/verdicts", decision_id="out-1")
    assert [(v["auditor_id"], v["notes"]) for v in page["items"]] == [("bo", "looks right")]
    assert cli.run("bo", "tasks", "pending", "--json").json() == []


async def test_expected_failures_are_one_line_without_a_traceback(cli: Cli) -> None:
    cli.login("forged", cli.token("ana", Role.AUDITOR, secret="not-the-secret-" * 3))
    refused = cli.run("forged", "tasks", "next")
    assert refused.code == 1
    assert refused.stderr.strip().count("\n") == 0
    assert refused.stderr.startswith("error: audit refused:") and "modqa login" in refused.stderr
    assert "Traceback" not in refused.stderr

    cli.profile("ana-again", cli.token("ana", Role.AUDITOR))
    wrong_role = cli.run("ana-again", "report", "weekly")
    assert wrong_role.code == 1
    assert wrong_role.stderr.startswith("error: metrics refused")
    assert "your token's role may not do this" in wrong_role.stderr

    unknown = cli.run("ana-again", "verdict", "no-such-task", "--outcome", "correct")
    assert unknown.code == 1
    assert "audit refused" in unknown.stderr and "Traceback" not in unknown.stderr


async def test_a_task_handed_back_goes_to_another_auditor(cli: Cli) -> None:
    for auditor in ("cam", "dia"):
        await cli.register(auditor, markets=["MX"], languages=["es"])
        cli.profile(auditor, cli.token(auditor, Role.AUDITOR))
    task = a_task(a_decision("rel-1", market="MX", language="es", moderator_id="mod-mx"))
    await send_tasks(cli.system, [task])

    assert cli.run("cam", "tasks", "next", "--json").json()["task_id"] == task.task_id
    assert [t["task_id"] for t in cli.run("cam", "tasks", "mine", "--json").json()] == [
        task.task_id
    ]
    released = cli.run("cam", "tasks", "release", task.task_id)
    assert released.code == 0, released.stderr
    assert f"Released {task.task_id}." in released.stdout
    assert cli.run("cam", "tasks", "mine", "--json").json() == []
    assert cli.run("cam", "tasks", "next", "--json").json() is None, "not offered to cam again"
    assert cli.run("dia", "tasks", "next", "--json").json()["task_id"] == task.task_id
