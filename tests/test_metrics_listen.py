"""`/metrics` has a listen address of its own, loopback by default, never the API port.

Attack: anyone who can reach the API reads the gateway's traffic by route and status (how many
refusals, how many exchanges, when) from `/metrics`. Now the API port answers 404 there, and
the metrics listen on `metrics_listen` (gateway.toml; "127.0.0.1:9464" unless set, "" for off),
or where `--metrics-host`/`--metrics-port` say.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gateway.config import load_settings
from gateway.config.errors import ConfigError
from tests.conftest import copy_config
from tests.test_slowloris import set_setting

pytestmark = pytest.mark.slow

GATEWAY = str(Path(sys.executable).with_name("gateway"))
START_TIMEOUT_S = 30


@contextmanager
def serving(config: Path, data: Path, *extra: str) -> Iterator[str]:
    """`gateway serve` with `extra` arguments; yields everything it printed once it listens."""
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_ENV"}
    out_file, err_file = data.parent / "stdout.txt", data.parent / "stderr.txt"
    with out_file.open("w") as out, err_file.open("w") as err:
        process = subprocess.Popen(
            [GATEWAY, "serve", "--config", str(config), "--data", str(data), "--port", "0", *extra],
            stdout=out,
            stderr=err,
            env=env,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "listening on" not in out_file.read_text():
            assert process.poll() is None, err_file.read_text()
            assert time.monotonic() < deadline, "gateway did not start"
            time.sleep(0.05)
        time.sleep(0.2)  # the metrics line follows the first one
        yield out_file.read_text()
    finally:
        process.terminate()
        process.wait(timeout=15)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback http
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_metrics_listen_on_loopback_by_default_and_can_be_turned_off(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    assert load_settings(config).metrics_listen == ("127.0.0.1", 9464)
    set_setting(config, "metrics_listen", '""')
    assert load_settings(config).metrics_listen is None
    set_setting(config, "metrics_listen", '"[::1]:9100"')
    assert load_settings(config).metrics_listen == ("::1", 9100)
    for wrong in ('"9464"', '"localhost:port"', '"127.0.0.1:70000"'):
        set_setting(config, "metrics_listen", wrong)
        with pytest.raises(ConfigError, match="metrics_listen"):
            load_settings(config)


def test_the_api_port_answers_404_for_metrics_which_are_served_on_their_own_port(
    tmp_path: Path,
) -> None:
    config = copy_config(tmp_path / "config")
    with serving(config, tmp_path / "data", "--metrics-port", "0", "--workers", "2") as printed:
        api = re.search(r"listening on (http://\S+)", printed)
        metrics = re.search(r"metrics on (http://127\.0\.0\.1:\d+/metrics)", printed)
        assert api is not None
        assert metrics is not None, printed
        assert get(api.group(1) + "/v1/purposes")[0] == 200
        status, body = get(api.group(1) + "/metrics")
        assert status == 404
        assert '"not_found"' in body
        status, text = get(metrics.group(1))
        assert status == 200
        assert "gateway_http_requests_total" in text
        assert get(metrics.group(1).removesuffix("/metrics") + "/v1/purposes")[0] == 404


def test_with_metrics_turned_off_nothing_else_listens(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    set_setting(config, "metrics_listen", '""')
    with serving(config, tmp_path / "data") as printed:
        assert "metrics on" not in printed
        api = re.search(r"listening on (http://\S+)", printed)
        assert api is not None
        assert get(api.group(1) + "/metrics")[0] == 404
