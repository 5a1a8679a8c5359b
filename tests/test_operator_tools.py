"""Operator tools: HTTPS straight from the gateway, and `gateway doctor` on broken set-ups."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import ssl
import subprocess
import sys
import urllib.request
import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import copy_config

GATEWAY = [sys.executable, "-m", "gateway.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GATEWAY, *args], capture_output=True, text=True, timeout=60, check=False
    )


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_a_tls_key_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    key.chmod(0o644)
    result = run(
        "serve",
        "--data",
        str(tmp_path / "data"),
        "--port",
        "0",
        "--metrics-port",
        "0",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
    )
    assert result.returncode == 2
    assert "readable by others" in result.stderr
    assert f"chmod 600 {key}" in result.stderr


@pytest.mark.slow
def test_the_gateway_serves_https_with_tls_1_2_or_newer(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    key.chmod(0o600)
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
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening on https://127.0.0.1:")
        url = line.removeprefix("listening on ")
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        with urllib.request.urlopen(url + "/healthz", context=context, timeout=10) as response:  # noqa: S310 - loopback
            assert json.loads(response.read())["status"] == "ok"
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is what we refuse
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionResetError)):
            urllib.request.urlopen(url + "/healthz", context=old, timeout=10)  # noqa: S310 - loopback
    finally:
        process.terminate()
        process.wait(timeout=20)
        process.stdout.close()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder as a real run leaves it (the demo ran on it)."""
    data = tmp_path_factory.mktemp("doctor") / "data"
    result = run("demo", "--data", str(data))
    assert result.returncode == 0, result.stderr[-2000:]
    return data


def copy_of(data: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    subprocess.run(["cp", "-a", str(data), str(target)], check=True)
    return target


def test_doctor_passes_a_healthy_installation(installed: Path, tmp_path: Path) -> None:
    result = run("doctor", "--data", str(copy_of(installed, tmp_path)))
    assert result.returncode == 0, result.stdout
    assert "all checks passed" in result.stdout
    assert "latest checkpoint signed and matching the stored tree" in result.stdout
    assert "ok       holidays: the list covers at least the coming year" in result.stdout


def test_doctor_warns_when_the_holiday_list_ends_within_the_coming_year(
    installed: Path, tmp_path: Path
) -> None:
    config = copy_config(tmp_path / "config")
    holidays = config / "holidays.toml"
    kept = holidays.read_text().split("# -- 2027")[0]  # only the 2026 holidays
    holidays.write_text(kept)
    result = run("doctor", "--config", str(config), "--data", str(copy_of(installed, tmp_path)))
    assert result.returncode == 1, result.stdout
    assert "holidays.toml lists holidays until 2026-12-31" in result.stdout
    assert "add the coming years' holidays to holidays.toml" in result.stdout


def test_doctor_names_a_key_readable_by_others_and_how_to_fix_it(
    installed: Path, tmp_path: Path
) -> None:
    data = copy_of(installed, tmp_path)
    (data / "keys" / "log-signing.key").chmod(0o644)
    result = run("doctor", "--data", str(data))
    assert result.returncode == 1
    assert "log-signing.key has mode 0644" in result.stdout
    assert "chmod 600" in result.stdout


def test_doctor_finds_an_unmigrated_database(installed: Path, tmp_path: Path) -> None:
    data = copy_of(installed, tmp_path)
    with sqlite3.connect(data / "gateway.sqlite3") as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    result = run("doctor", "--data", str(data))
    assert result.returncode == 1
    assert "gateway migrate" in result.stdout


def test_doctor_finds_a_database_file_that_is_no_database(installed: Path, tmp_path: Path) -> None:
    data = copy_of(installed, tmp_path)
    for leftover in data.glob("gateway.sqlite3*"):
        leftover.unlink()
    (data / "gateway.sqlite3").write_bytes(b"this was overwritten by a backup script" * 40)
    (data / "gateway.sqlite3").chmod(0o600)
    result = run("doctor", "--data", str(data))
    assert result.returncode == 1, result.stdout
    assert "storage unusable" in result.stdout
    assert "file is not a database" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_doctor_finds_a_tampered_tree(installed: Path, tmp_path: Path) -> None:
    data = copy_of(installed, tmp_path)
    with sqlite3.connect(data / "gateway.sqlite3") as conn:
        # The biggest perfect subtree on the tree's right border (the doctor's quick check reads
        # the border; `gateway log verify` reads everything).
        level = conn.execute("SELECT MAX(level) FROM tree_nodes").fetchone()[0]
        conn.execute(
            "UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = ? AND idx = 0", (level,)
        )
    result = run("doctor", "--data", str(data))
    assert result.returncode == 1
    assert "gateway log verify" in result.stdout


def test_doctor_refuses_demo_partners_in_production(installed: Path, tmp_path: Path) -> None:
    data = copy_of(installed, tmp_path)
    result = subprocess.run(
        [*GATEWAY, "doctor", "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GATEWAY_ENV": "production"},
        check=False,
    )
    assert result.returncode == 1
    assert "demo partners" in result.stdout
