"""Signed checkpoints: the tlog-checkpoint body, signed notes, and what an outside auditor checks."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

import gateway.log
from gateway.log import checkpoint as checkpoint_module
from gateway.log.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteError,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    parse_checkpoint_body,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verifier_key,
    verify_note,
)

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"
NOTES_VECTORS = VECTORS / "signed-note" / "notes.json"

ORIGIN = "gateway.example/disclosure-log"
ROOT = hashlib.sha256(b"a root").digest()
# A fixed key keeps the expected note reproducible; Ed25519 signing is deterministic.
SEED = bytes(range(32))


def make_signer(name: str = ORIGIN, seed: bytes = SEED) -> NoteSigner:
    return NoteSigner(name, Ed25519PrivateKey.from_private_bytes(seed))


def make_verifier(signer: NoteSigner) -> NoteVerifier:
    return parse_verifier_key(verifier_key(signer.name, signer.private_key.public_key()))


# --- an independent signed-note verifier, as an outside auditor would write it -----------------


class AuditorRejects(Exception):
    """The auditor's own verifier refused the note."""


def auditor_verify_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    """Check a checkpoint note against a published vkey using only the specs and `cryptography`."""
    name, key_hash_hex, key_b64 = vkey.split("+", 2)
    key = base64.b64decode(key_b64, validate=True)
    if key[0] != 0x01 or len(key) != 33:
        raise AuditorRejects("not an Ed25519 key")
    key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if key_id.hex() != key_hash_hex:
        raise AuditorRejects("vkey hash does not match")
    public_key = Ed25519PublicKey.from_public_bytes(key[1:])

    text, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise AuditorRejects("no signature block")
    text += "\n"
    good = False
    for line in signatures.splitlines():
        prefix, _, rest = line.partition(" ")
        if prefix != "\N{EM DASH}":
            raise AuditorRejects("bad signature line")
        signer_name, _, signature_b64 = rest.partition(" ")
        blob = base64.b64decode(signature_b64, validate=True)
        if signer_name != name or blob[:4] != key_id:
            continue
        try:
            public_key.verify(blob[4:], text.encode())
        except InvalidSignature as exc:
            raise AuditorRejects("signature does not verify") from exc
        good = True
    if not good:
        raise AuditorRejects("no signature by the log's key")

    origin, size, root_b64, *_ = text.split("\n")
    return origin, int(size), base64.b64decode(root_b64, validate=True)


def test_auditor_with_an_independent_verifier_accepts_a_gateway_checkpoint() -> None:
    signer = make_signer()
    vkey = verifier_key(signer.name, signer.private_key.public_key())
    note = sign_checkpoint(Checkpoint(ORIGIN, 41, ROOT), signer)
    assert auditor_verify_checkpoint(note, vkey) == (ORIGIN, 41, ROOT)


def test_auditor_with_an_independent_verifier_rejects_a_tampered_gateway_checkpoint() -> None:
    signer = make_signer()
    vkey = verifier_key(signer.name, signer.private_key.public_key())
    note = sign_checkpoint(Checkpoint(ORIGIN, 41, ROOT), signer)
    with pytest.raises(AuditorRejects, match="does not verify"):
        auditor_verify_checkpoint(note.replace("\n41\n", "\n42\n"), vkey)


# --- checkpoint bodies -------------------------------------------------------------------------


def test_checkpoint_body_is_origin_size_and_padded_base64_root_each_on_its_own_line() -> None:
    body = Checkpoint("example.com/log", 5, bytes(32)).body()
    assert body == "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"


def test_checkpoint_body_carries_extension_lines_after_the_root() -> None:
    body = Checkpoint("example.com/log", 0, bytes(32), ("ext one", "ext two")).body()
    assert body.endswith("=\next one\next two\n")
    assert parse_checkpoint_body(body).extensions == ("ext one", "ext two")


def test_spec_example_checkpoint_body_parses() -> None:
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    parsed = parse_checkpoint_body(body)
    assert parsed.origin == "example.com/behind-the-sofa"
    assert parsed.size == 20852163
    assert parsed.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert parsed.body() == body


GOOD_ROOT_LINE = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f"log\n5\n{GOOD_ROOT_LINE}", id="no final newline"),
        pytest.param("log\n5\n", id="no root line"),
        pytest.param(f"\n5\n{GOOD_ROOT_LINE}\n", id="empty origin"),
        pytest.param(f"log\n05\n{GOOD_ROOT_LINE}\n", id="leading zero"),
        pytest.param(f"log\n+5\n{GOOD_ROOT_LINE}\n", id="plus sign"),
        pytest.param(f"log\n 5\n{GOOD_ROOT_LINE}\n", id="space before size"),
        pytest.param(f"log\n1_000\n{GOOD_ROOT_LINE}\n", id="underscore in size"),
        pytest.param(f"log\n\u0665\n{GOOD_ROOT_LINE}\n", id="non-ASCII digit"),
        pytest.param(f"log\n{2**64}\n{GOOD_ROOT_LINE}\n", id="size beyond uint64"),
        pytest.param(f"log\n\n{GOOD_ROOT_LINE}\n", id="empty size"),
        pytest.param(f"log\n5\n{GOOD_ROOT_LINE.rstrip('=')}\n", id="unpadded root"),
        pytest.param(f"log\n5\n{GOOD_ROOT_LINE[:-2]}B=\n", id="non-canonical root"),
        pytest.param("log\n5\nAAAA\n", id="short root"),
        pytest.param(f"log\n5\n{GOOD_ROOT_LINE}\n\n", id="empty extension line"),
        pytest.param(f"lo\tg\n5\n{GOOD_ROOT_LINE}\n", id="control character"),
        pytest.param(f"log\r\n5\n{GOOD_ROOT_LINE}\n", id="carriage return"),
    ],
)
def test_malformed_checkpoint_body_is_refused(body: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint_body(body)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(("", 1, ROOT, ()), id="empty origin"),
        pytest.param(("log\nforged", 1, ROOT, ()), id="newline in origin"),
        pytest.param(("log", -1, ROOT, ()), id="negative size"),
        pytest.param(("log", True, ROOT, ()), id="boolean size"),
        pytest.param(("log", 1, ROOT[:31], ()), id="short root"),
        pytest.param(("log", 1, ROOT, ("",)), id="empty extension"),
    ],
)
def test_checkpoint_with_invalid_fields_cannot_be_made(fields: tuple[Any, ...]) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(*fields)


@settings(max_examples=60, deadline=None)
@given(
    origin=st.text(st.characters(codec="utf-8", min_codepoint=0x20), min_size=1, max_size=40),
    size=st.integers(min_value=0, max_value=2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
)
def test_any_checkpoint_body_parses_back_to_the_same_checkpoint(
    origin: str, size: int, root: bytes
) -> None:
    original = Checkpoint(origin, size, root)
    assert parse_checkpoint_body(original.body()) == original


# --- signing and verifying notes ---------------------------------------------------------------


def test_signed_checkpoint_verifies_and_opens_to_the_same_checkpoint() -> None:
    signer = make_signer()
    original = Checkpoint(ORIGIN, 1234, ROOT)
    note = sign_checkpoint(original, signer)
    assert verify_note(note, [make_verifier(signer)]) == original.body()
    assert open_checkpoint(note, [make_verifier(signer)], origin=ORIGIN) == original


def test_signed_note_is_body_blank_line_and_em_dash_signature_line() -> None:
    signer = make_signer()
    note = sign_note("hello\n", signer)
    body, blank, signature_line = note.partition("\n\n")
    assert (body, blank) == ("hello", "\n\n")
    assert signature_line.startswith(f"\u2014 {ORIGIN} ")
    assert signature_line.endswith("\n")
    blob = base64.b64decode(signature_line.split(" ")[2])
    assert len(blob) == 4 + 64
    assert int.from_bytes(blob[:4], "big") == signer.key_id


def test_verifier_key_round_trips_through_its_published_string() -> None:
    signer = make_signer()
    vkey = verifier_key(signer.name, signer.private_key.public_key())
    name, key_id_hex, key_b64 = vkey.split("+", 2)
    assert name == ORIGIN
    assert int(key_id_hex, 16) == signer.key_id
    assert base64.b64decode(key_b64)[0] == 0x01
    parsed = parse_verifier_key(vkey)
    assert (parsed.name, parsed.key_id) == (ORIGIN, signer.key_id)
    assert verifier_key(parsed.name, parsed.public_key) == vkey


def test_checkpoint_from_another_log_does_not_open_as_ours() -> None:
    signer = make_signer()
    note = sign_checkpoint(Checkpoint("other.example/log", 3, ROOT), signer)
    with pytest.raises(CheckpointError, match=r"other\.example/log"):
        open_checkpoint(note, [make_verifier(signer)], origin=ORIGIN)


def test_tampered_body_fails_verification() -> None:
    signer = make_signer()
    note = sign_checkpoint(Checkpoint(ORIGIN, 41, ROOT), signer)
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(note.replace("\n41\n", "\n42\n"), [make_verifier(signer)])


def test_signature_under_a_wrong_key_name_is_unknown_and_fails_verification() -> None:
    signer = make_signer()
    note = sign_checkpoint(Checkpoint(ORIGIN, 41, ROOT), signer)
    relabelled = note.replace(f"\u2014 {ORIGIN} ", "\u2014 impostor.example/log ")
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        verify_note(relabelled, [make_verifier(signer)])


def test_truncated_signature_fails_verification() -> None:
    signer = make_signer()
    note = sign_checkpoint(Checkpoint(ORIGIN, 41, ROOT), signer)
    signature_line = note.rpartition("\n\n")[2]
    encoded = signature_line.rstrip("\n").rsplit(" ", 1)[1]
    shorter = base64.b64encode(base64.b64decode(encoded)[:-8]).decode()
    with pytest.raises(NoteError, match="not an Ed25519 signature"):
        verify_note(note.replace(encoded, shorter), [make_verifier(signer)])
    with pytest.raises(NoteError, match="base64"):
        verify_note(note.replace(encoded, encoded[:-5]), [make_verifier(signer)])


def test_signature_by_a_different_key_with_the_same_name_is_ignored() -> None:
    ours = make_signer()
    impostor = make_signer(seed=bytes(32))
    note = sign_checkpoint(Checkpoint(ORIGIN, 41, ROOT), impostor)
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        verify_note(note, [make_verifier(ours)])


def test_unknown_cosignature_is_ignored_while_the_trusted_one_verifies() -> None:
    log = make_signer()
    witness = make_signer("witness.example/w1", bytes(range(1, 33)))
    note = sign_checkpoint(Checkpoint(ORIGIN, 41, ROOT), log)
    witness_line = sign_note(Checkpoint(ORIGIN, 41, ROOT).body(), witness).rpartition("\n\n")[2]
    cosigned = note + witness_line
    assert verify_note(cosigned, [make_verifier(log)]) == Checkpoint(ORIGIN, 41, ROOT).body()
    assert verify_note(cosigned, [make_verifier(witness)]) == Checkpoint(ORIGIN, 41, ROOT).body()


def test_a_bad_signature_by_a_trusted_key_rejects_the_whole_note() -> None:
    log = make_signer()
    witness = make_signer("witness.example/w1", bytes(range(1, 33)))
    body = Checkpoint(ORIGIN, 41, ROOT).body()
    forged_line = sign_note("something else\n", witness).rpartition("\n\n")[2]
    with pytest.raises(NoteError, match=r"witness\.example/w1"):
        verify_note(
            sign_note(body, log) + forged_line, [make_verifier(log), make_verifier(witness)]
        )


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda note: note.replace("\n\n", "\n"), id="no blank line"),
        pytest.param(lambda note: note[:-1], id="no final newline"),
        pytest.param(lambda note: note.replace("\u2014 ", "- "), id="hyphen for em dash"),
        pytest.param(lambda note: note.replace(f"{ORIGIN} ", f"{ORIGIN}\t"), id="tab separator"),
        pytest.param(lambda note: note.replace("\n41\n", "\n4\x001\n"), id="control character"),
        pytest.param(lambda note: note + "\u2014 x\n", id="signature line without signature"),
        pytest.param(lambda note: note + "\u2014 a+b AAAAAAA=\n", id="plus in key name"),
        pytest.param(lambda note: note + "\u2014 x AAAA\n", id="signature shorter than a key id"),
        pytest.param(lambda note: note + "\u2014 x QUJDREVG\n" * 100, id="too many signatures"),
    ],
)
def test_malformed_note_is_refused(mangle: Any) -> None:
    signer = make_signer()
    note = sign_checkpoint(Checkpoint(ORIGIN, 41, ROOT), signer)
    verify_note(note, [make_verifier(signer)])
    with pytest.raises(NoteError):
        verify_note(mangle(note), [make_verifier(signer)])


def test_note_without_any_trusted_key_is_refused() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 41, ROOT), make_signer())
    with pytest.raises(NoteError, match="no trusted keys"):
        verify_note(note, [])


def test_two_trusted_keys_with_one_name_and_key_id_are_refused_as_ambiguous() -> None:
    signer = make_signer()
    genuine = make_verifier(signer)
    other_key = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    # Build the colliding verifier by hand: a real collision would need a key search.
    impostor = object.__new__(NoteVerifier)
    object.__setattr__(impostor, "name", genuine.name)
    object.__setattr__(impostor, "key_id", genuine.key_id)
    object.__setattr__(impostor, "public_key", other_key)
    note = sign_checkpoint(Checkpoint(ORIGIN, 41, ROOT), signer)
    with pytest.raises(NoteError, match="share name"):
        verify_note(note, [genuine, impostor])


def test_signing_text_without_a_final_newline_is_refused() -> None:
    with pytest.raises(NoteError, match="newline"):
        sign_note("no newline", make_signer())


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "tab\there", "nb\u00a0space"])
def test_key_names_with_spaces_or_plus_are_refused(name: str) -> None:
    with pytest.raises(NoteError, match="key name"):
        make_signer(name)
    with pytest.raises(NoteError, match="key name"):
        verifier_key(name, make_signer().private_key.public_key())


@pytest.mark.parametrize(
    "vkey",
    [
        pytest.param("name-only", id="no parts"),
        pytest.param("name+c74f20a3", id="no key"),
        pytest.param("name+c74f20+AXXX", id="short key id"),
        pytest.param("name+zzzzzzzz+AXXX", id="non-hex key id"),
        pytest.param("name+c74f20a3+ARpc", id="short key"),
        pytest.param(
            "PeterNeumann+c74f20a3+AhpcdkcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", id="ECDSA type"
        ),
        pytest.param(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=", id="bad b64"
        ),
    ],
)
def test_malformed_verifier_key_is_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        parse_verifier_key(vkey)


@settings(max_examples=40, deadline=None)
@given(
    body=st.lists(
        st.text(st.characters(codec="utf-8", min_codepoint=0x20), max_size=30),
        min_size=1,
        max_size=5,
    ).map(lambda lines: "".join(line + "\n" for line in lines))
)
def test_any_valid_note_text_round_trips_through_signing(body: str) -> None:
    signer = make_signer()
    assert verify_note(sign_note(body, signer), [make_verifier(signer)]) == body


# --- the published signed-note vectors ---------------------------------------------------------


def _note_vectors() -> list[dict[str, Any] | None]:
    if not NOTES_VECTORS.is_file():
        return [None]
    cases: list[dict[str, Any]] = json.loads(NOTES_VECTORS.read_text())
    return list(cases)


def _note_case_id(case: dict[str, Any] | None) -> str:
    return "vectors-missing" if case is None else str(case["desc"])


@pytest.mark.parametrize("case", _note_vectors(), ids=_note_case_id)
def test_published_signed_note_verifies_exactly_when_no_error_is_wanted(
    case: dict[str, Any] | None,
) -> None:
    if case is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the shared vectors must be present in CI, but {NOTES_VECTORS} is missing")
        pytest.skip(f"shared vectors not found at {NOTES_VECTORS} (a clone outside the workplace)")
    if case["want_err"]:
        with pytest.raises(NoteError):
            verify_note(case["note"], [parse_verifier_key(case["verifier_key"])])
    else:
        text = verify_note(case["note"], [parse_verifier_key(case["verifier_key"])])
        assert case["note"].startswith(text)
        assert text.endswith("\n")
        assert not text.endswith("\n\n")


def test_published_verifier_key_round_trips_through_our_encoding() -> None:
    cases = _note_vectors()
    if cases == [None]:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the shared vectors must be present in CI, but {NOTES_VECTORS} is missing")
        pytest.skip(f"shared vectors not found at {NOTES_VECTORS} (a clone outside the workplace)")
    good = next(case for case in cases if case is not None and not case["want_err"])
    parsed = parse_verifier_key(good["verifier_key"])
    assert parsed.key_id == 0xC74F20A3
    assert verifier_key(parsed.name, parsed.public_key) == good["verifier_key"]


def test_public_surface_of_the_checkpoint_module_is_pinned_and_re_exported() -> None:
    assert set(checkpoint_module.__all__) == {
        "Checkpoint",
        "CheckpointError",
        "NoteError",
        "NoteSigner",
        "NoteVerifier",
        "open_checkpoint",
        "parse_checkpoint_body",
        "parse_verifier_key",
        "sign_checkpoint",
        "sign_note",
        "verifier_key",
        "verify_note",
    }
    assert set(checkpoint_module.__all__) <= set(gateway.log.__all__)
    assert issubclass(CheckpointError, NoteError)
    assert issubclass(NoteError, ValueError)
