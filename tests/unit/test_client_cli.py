"""The CLI without services: profiles, exit codes, one-line errors, completion, plan diffs."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modqa_client import sdk
from modqa_client.cli import app
from modqa_client.commands.plans import changes, plan_id_of
from modqa_client.transport import RetryPolicy
from shared.auth import Role, issue_token

runner = CliRunner()


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MODQA_CONFIG_DIR", str(tmp_path))
    fast = RetryPolicy(attempts=2, base_delay_s=0.001, max_delay_s=0.001)
    monkeypatch.setattr(sdk, "RetryPolicy", lambda: fast)
    return tmp_path


def token(subject: str = "ana", role: Role = Role.AUDITOR) -> str:
    secret = "a-test-secret-of-thirty-two-bytes-at-least"
    return issue_token(secret, subject=subject, roles=[role], ttl=dt.timedelta(hours=1))


def test_login_saves_the_token_readable_by_its_owner_only(config_dir: Path) -> None:
    result = runner.invoke(
        app, ["login", "--token", token(), "--profile", "work", "--audit", "http://audit:1/"]
    )
    assert result.exit_code == 0, result.output
    assert "Logged in as ana (auditor) on profile work" in result.stdout
    saved = config_dir / "profiles.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    profile = json.loads(saved.read_text())["profiles"]["work"]
    assert profile["urls"]["audit"] == "http://audit:1"
    shown = runner.invoke(app, ["profile", "show"])
    assert "work" in shown.stdout and "ana" in shown.stdout


def test_a_token_that_is_not_one_is_refused_with_exit_2() -> None:
    result = runner.invoke(app, ["login", "--token", "not-a-token"])
    assert result.exit_code == 2
    assert "not a modqa token" in result.output
    assert runner.invoke(app, ["login", "--token", "mqk_nosecret"]).exit_code == 2


def test_an_api_key_is_a_login_too(config_dir: Path) -> None:
    result = runner.invoke(app, ["login", "--token", "mqk_0a1b2c3d4e5f_s3cr3t-part"])
    assert result.exit_code == 0, result.output
    assert "Logged in with API key 0a1b2c3d4e5f on profile default" in result.stdout
    saved = json.loads((config_dir / "profiles.json").read_text())
    assert saved["profiles"]["default"]["token"] == "mqk_0a1b2c3d4e5f_s3cr3t-part"
    assert "API key 0a1b2c3d4e5f" in runner.invoke(app, ["profile", "show"]).stdout


def test_a_service_that_is_down_gives_one_line_and_exit_1() -> None:
    runner.invoke(app, ["login", "--token", token(), "--audit", "http://127.0.0.1:9"])
    result = runner.invoke(app, ["tasks", "next"])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: audit is unreachable")
    assert "Traceback" not in result.output


def test_without_a_token_the_cli_says_to_log_in() -> None:
    result = runner.invoke(app, ["me"])
    assert result.exit_code == 1
    assert "no token in profile 'default'" in result.stderr and "modqa login" in result.stderr


def test_wrong_usage_is_exit_2() -> None:
    assert runner.invoke(app, ["verdict"]).exit_code == 2
    assert runner.invoke(app, ["verdict", "t-1", "--outcome", "maybe"]).exit_code == 2
    result = runner.invoke(app, ["disputes", "resolve", "d-1", "--note", "n"])
    assert result.exit_code == 2 and "say --uphold or --overturn" in result.stderr


def test_a_file_that_is_not_a_statements_csv_is_exit_2(tmp_path: Path) -> None:
    runner.invoke(app, ["login", "--token", token("upstream", Role.SYSTEM)])
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["ingest", str(bad)])
    assert result.exit_code == 2
    assert "not a statements-of-reasons CSV" in result.stderr


def test_shell_completion_is_available() -> None:
    result = runner.invoke(app, ["--show-completion", "bash"])
    assert result.exit_code == 0
    assert "_MODQA_COMPLETE" in result.stdout


def test_a_plan_diff_lists_the_fields_that_change() -> None:
    before = {
        "plan_id": "default",
        "base_rate": 0.05,
        "risk": {"severity": {"critical": 0.5}, "low_confidence": None},
        "strata": ["queue"],
    }
    after = {"base_rate": 0.05, "risk": {"severity": {"critical": 0.8}}, "floor": 0.01}
    assert changes(before, after) == [
        ("floor", None, 0.01),
        ("risk.severity.critical", 0.5, 0.8),
        ("strata", ["queue"], None),
    ]
    assert plan_id_of(Path("KR plan (v2).yaml")) == "kr-plan-v2"


def test_the_client_does_not_import_the_services_shared_package() -> None:
    probe = (
        "import sys, modqa_client.cli, modqa_client.sdk; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'shared', 'services'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def modqa(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `modqa` command (the entry point of client/pyproject.toml)."""
    command = Path(sys.executable).parent / "modqa"
    return subprocess.run(
        [str(command), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100", **env},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "said", "command"),
    [
        (["verdict", "t-1", "--outcome", "maybe"], "'maybe' is not one of 'correct'", "verdict"),
        (["tasks", "nxt"], "No such command 'nxt'. Did you mean 'next'?", "tasks"),
        (["plan", "diff", "nope.yaml"], "file 'nope.yaml' does not exist", "plan diff"),
        (["verdict"], "Missing argument", "verdict"),
    ],
)
def test_a_command_used_wrongly_is_one_line_and_exit_2(
    args: list[str], said: str, command: str
) -> None:
    done = modqa(*args)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and said in line
    assert line.endswith(f"(see `modqa {command} --help`)")


def test_an_unreadable_profiles_file_is_one_line_saying_what_to_do(config_dir: Path) -> None:
    (config_dir / "profiles.json").write_text("{not json")
    for args in (["me"], ["profile", "show"]):
        done = modqa(*args)
        assert done.returncode == 1
        [line] = done.stderr.strip().splitlines()
        assert line.startswith(f"error: cannot read {config_dir / 'profiles.json'}")
        assert line.endswith("(fix or remove the file)")


def test_the_shell_completes_commands_and_subcommands() -> None:
    bash = {"_MODQA_COMPLETE": "complete_bash", "COMP_WORDS": "modqa plan ", "COMP_CWORD": "2"}
    assert modqa(**bash).stdout.split() == ["show", "diff", "apply"]
    bash.update(COMP_WORDS="modqa esc", COMP_CWORD="1")
    assert modqa(**bash).stdout.split() == ["escalations"]
