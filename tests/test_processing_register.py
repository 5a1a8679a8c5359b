"""The register of processing activities (AVG art. 30) is generated from the catalogue, and a
municipality's own activity URIs replace the shipped examples everywhere they are named."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_catalogue, load_partners
from gateway.config.register import load_register
from gateway.policy.minimal import allowed_fields
from gateway.standards.avg_register import processing_register, register_markdown
from tests.conftest import DEFAULT_CONFIG, REPO, copy_config

GATEWAY = [sys.executable, "-m", "gateway.cli"]
OWN_URI = "https://register.den-helder.example/verwerkingsactiviteiten/jeugd-verwijzing"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GATEWAY, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def with_register(tmp_path: Path, text: str) -> Path:
    config = copy_config(tmp_path / "config")
    (config / "register.toml").write_text(text)
    return config


CONTROLLER = """
[controller]
name = "Gemeente Voorbeeld"
contact = "privacy@voorbeeld.example"

[dpo]
name = "FG Voorbeeld"
contact = "fg@voorbeeld.example"
"""


def test_every_purpose_is_an_activity_with_its_grounds_dataset_recipients_and_terms() -> None:
    catalogue = load_catalogue(DEFAULT_CONFIG, REPO / "schemas")
    register = load_register(DEFAULT_CONFIG, catalogue.ids)
    assert register is not None
    document = processing_register(catalogue, register, load_partners(DEFAULT_CONFIG))
    activities = {a["id"]: a for a in document["activities"]}
    assert set(activities) == catalogue.ids
    for purpose in catalogue:
        activity = activities[purpose.id]
        assert activity["uri"] == purpose.processing_activity
        assert activity["purpose"] == purpose.description
        assert activity["personal_data"] == list(allowed_fields(purpose.schema))
        assert activity["retention"] == {
            "records_years": purpose.record_retention_years,
            "inbox_days": purpose.inbox_retention_days,
        }
        assert [r["kind"] for r in activity["recipients"]] == sorted(purpose.recipient_kinds)
        assert len(activity["grounds"]) == 1 + len(purpose.direction_grounds)
        assert activity["grounds"][0]["direction"] == "default"
        assert activity["grounds"][0]["reference"] == purpose.ground.reference
        assert activity["third_country_transfers"] == "none"
    start_stop = activities["start-stop"]
    assert start_stop["grounds"][1]["direction"] == {
        "from": ["certified_institution"],
        "to": ["social_team"],
    }
    # Issue 19: the Jeugdwet duty holds towards a team that acts for the college; the default
    # ground (towards any other team) needs the client's agreement.
    assert start_stop["grounds"][1]["conditions"] == {"recipient_acts_for_college": True}
    # An adult's start or stop (Wmo 2015) needs agreement, before the provider's Jeugdwet row.
    assert start_stop["grounds"][2]["conditions"] == {"subjects": "adults"}
    assert start_stop["grounds"][2]["agreement_required"] is True
    assert start_stop["grounds"][3]["avg_art6"] == ["AVG art. 6 lid 1 sub c"]
    assert start_stop["grounds"][3]["agreement_required"] is False
    assert start_stop["grounds"][0]["agreement_required"] is True
    assert start_stop["grounds"][0]["conditions"] == {}
    referral = activities["referral"]
    assert referral["grounds"][0]["agreement_required"] is True
    assert referral["recipients"] == [
        {"kind": "care_provider", "partners": ["Zorgaanbieder Noord"]}
    ]


def test_the_register_names_no_person_only_categories_and_field_names() -> None:
    catalogue = load_catalogue(DEFAULT_CONFIG, REPO / "schemas")
    register = load_register(DEFAULT_CONFIG, catalogue.ids)
    assert register is not None
    text = register_markdown(processing_register(catalogue, register))
    assert text.startswith("# Register of processing activities (AVG art. 30 lid 1)\n")
    assert "- Controller: College van burgemeester en wethouders" in text
    assert "## Referral (referral)" in text
    assert "client's agreement needed: yes" in text
    assert re.search(r"\b[0-9]{9}\b", text) is None  # nothing shaped like a BSN


def test_gateway_register_prints_the_register_as_markdown_and_as_json() -> None:
    markdown = run("register")
    assert markdown.returncode == 0, markdown.stderr
    assert "## Safety assessment (safety-assessment)" in markdown.stdout
    as_json = run("register", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["data_protection_officer"]["name"] == "Functionaris gegevensbescherming (demo)"
    assert len(document["activities"]) == len(
        list(load_catalogue(DEFAULT_CONFIG, REPO / "schemas"))
    )


def test_a_municipalitys_own_activity_uri_replaces_the_example_in_the_catalogue(
    tmp_path: Path,
) -> None:
    config = with_register(
        tmp_path, CONTROLLER + f'\n[processing_activity]\nreferral = "{OWN_URI}"\n'
    )
    catalogue = load_catalogue(config, REPO / "schemas")
    referral = catalogue.get("referral")
    start_stop = catalogue.get("start-stop")
    assert referral is not None
    assert start_stop is not None
    assert referral.processing_activity == OWN_URI
    assert start_stop.processing_activity.startswith("https://register.example.org/")
    result = run("register", "--config", str(config), "--format", "json")
    assert result.returncode == 0, result.stderr
    uris = {a["id"]: a["uri"] for a in json.loads(result.stdout)["activities"]}
    assert uris["referral"] == OWN_URI
    assert json.loads(result.stdout)["controller"]["name"] == "Gemeente Voorbeeld"


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            '[processing_activity]\nno-such-purpose = "urn:x:y"\n',
            "unknown purpose 'no-such-purpose'",
        ),
        ('[processing_activity]\nreferral = "not a uri"\n', "'referral' must be an https://"),
        ("[processing_activity]\nreferral = 5\n", "referral"),
        ("[surprise]\n", "unknown key(s) 'surprise'"),
    ],
)
def test_a_broken_register_file_is_refused_naming_the_file_and_entry(
    tmp_path: Path, extra: str, problem: str
) -> None:
    config = with_register(tmp_path, CONTROLLER + extra)
    with pytest.raises(ConfigError) as raised:
        load_catalogue(config, REPO / "schemas")
    assert "register.toml" in str(raised.value)
    assert problem in str(raised.value)


def test_a_register_without_its_data_protection_officer_is_refused(tmp_path: Path) -> None:
    config = with_register(tmp_path, CONTROLLER.split("[dpo]")[0])
    with pytest.raises(ConfigError) as raised:
        load_catalogue(config, REPO / "schemas")
    assert "missing required table 'dpo'" in str(raised.value)


def test_gateway_register_without_a_register_file_says_what_is_missing(tmp_path: Path) -> None:
    config = copy_config(tmp_path / "config")
    (config / "register.toml").unlink()
    result = run("register", "--config", str(config))
    assert result.returncode == 2
    assert "register.toml" in result.stderr
    assert "controller and its data protection officer" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_doctor_names_example_activity_uris_as_not_for_production(tmp_path: Path) -> None:
    result = run("doctor", "--data", str(tmp_path / "none"))
    assert re.search(
        r"ok       [0-9]+ purpose\(s\) name an example processing activity URI \([a-z-]+, "
        r".*\(fine for trying it out; not for production\)",
        result.stdout,
    )
    own = with_register(
        tmp_path,
        CONTROLLER
        + "[processing_activity]\n"
        + "".join(
            f'{p.id} = "urn:voorbeeld:{p.id}"\n'
            for p in load_catalogue(DEFAULT_CONFIG, REPO / "schemas")
        ),
    )
    result = run("doctor", "--config", str(own), "--data", str(tmp_path / "none"))
    assert "example processing activity URI" not in result.stdout
