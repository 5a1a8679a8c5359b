"""The `gateway` command as an operator meets it: start-up checks, demo, clear failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_config

GATEWAY = [sys.executable, "-m", "gateway.cli"]


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GATEWAY, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_demo_keys_are_refused_in_production(tmp_path: Path) -> None:
    result = run(
        "serve",
        "--data",
        str(tmp_path / "data"),
        "--port",
        "0",
        "--metrics-port",
        "0",
        env={"GATEWAY_ENV": "production"},
    )
    assert result.returncode == 2
    assert "demo partners" in result.stderr
    assert "partners.toml" in result.stderr


def test_a_broken_catalogue_stops_the_server_naming_file_purpose_and_problem(
    tmp_path: Path,
) -> None:
    config = copy_config(tmp_path / "config")
    catalogue = (config / "purposes.toml").read_text()
    (config / "purposes.toml").write_text(
        catalogue.replace(
            'recipient_kinds = ["social_team"]\nschema = "evaluation-feedback.schema.json"',
            'recipient_kinds = ["social_team", "pharmacy"]\nschema = "evaluation-feedback.schema.json"',
        )
    )
    result = run(
        "serve",
        "--config",
        str(config),
        "--data",
        str(tmp_path / "data"),
        "--port",
        "0",
        "--metrics-port",
        "0",
    )
    assert result.returncode == 2
    assert "purposes.toml" in result.stderr
    assert "purpose 'evaluation-feedback'" in result.stderr
    assert "'recipient_kinds' has 'pharmacy'" in result.stderr


def test_a_purpose_without_its_schema_file_is_refused_at_start(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    catalogue = (config / "purposes.toml").read_text()
    (config / "purposes.toml").write_text(
        catalogue.replace('"referral.schema.json"', '"referal.schema.json"')
    )
    result = run(
        "serve",
        "--config",
        str(config),
        "--data",
        str(tmp_path / "data"),
        "--port",
        "0",
        "--metrics-port",
        "0",
    )
    assert result.returncode == 2
    assert "purpose 'referral'" in result.stderr
    assert "referal.schema.json not found" in result.stderr


@pytest.mark.slow
def test_the_demo_tells_its_story_and_exits_cleanly(tmp_path: Path) -> None:
    result = run("demo", "--data", str(tmp_path / "demo"), timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    for text in (
        "relation_required",
        "consent_required",
        "payload_not_minimal",
        "/payload/diagnosis",
        "safety-assessment for kind-3",
        # The GI carries out the child's OTS (it joined citing the ruling): Jeugdwet art. 7.3.11
        # lid 4 lets the closure notice reach it without agreement (issue 19).
        "delivered to gi-noordholland",
        "inclusion proof of",
    ):
        assert text in out
    assert "refused for gi-noordholland" not in out
    assert "999992351" not in result.stderr
    verified = run("log", "verify", "--data", str(tmp_path / "demo"))
    assert verified.returncode == 0, verified.stdout
    assert "log verified" in verified.stdout


@pytest.mark.slow
def test_serve_announces_itself_and_stops_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            *GATEWAY,
            "serve",
            "--data",
            str(tmp_path / "data"),
            "--port",
            "0",
            "--metrics-port",
            "0",
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        assert (tmp_path / "data" / "gateway.pid").read_text().strip() == str(process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert not (tmp_path / "data" / "gateway.pid").exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
