"""The transparency log's core at its edges: Merkle proofs, checkpoints, entries, verification.

Each test names a realistic slip that mutation testing (`make mutate`,
docs/mutation-testing.md) showed the suite let through: a proof checked against the wrong side,
a size off by one, a one-bit change in a leaf that verification does not see.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.log import verify
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
from gateway.log.columns import SEARCHABLE_COLUMNS, disagreeing_columns, leaf_columns
from gateway.log.entry import LogEntry, Sender, canonical_json, format_time, parse_time
from gateway.log.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from gateway.log.verify import LogTampered, verify_log
from gateway.store.base import StoredCheckpoint
from tests.storage_fixtures import storage_backend_fixture  # noqa: F401
from tests.test_verify_batch import (  # the signed log and the tampering helpers
    ORIGIN as LOG_ORIGIN,
)
from tests.test_verify_batch import (
    T0,
    Backend,
    _entry,
    _signed_log,
    _sql,
)

LEAVES = [leaf_hash(f"entry {n}".encode()) for n in range(13)]


def _flip(data: bytes, bit: int = 0) -> bytes:
    return bytes([data[0] ^ (1 << bit), *data[1:]])


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 13])
def test_verification_catches_a_one_bit_change_in_any_leaf_of_any_tree(size: int):
    hashes = LEAVES[:size]
    root = root_from_leaf_hashes(hashes)
    for index in range(size):
        proof = inclusion_proof(index, hashes)
        verify_inclusion(hashes[index], index, size, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(_flip(hashes[index]), index, size, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(hashes[index], index, size, proof, _flip(root, 7))
        for position in range(len(proof)):
            bent = [*proof[:position], _flip(proof[position]), *proof[position + 1 :]]
            with pytest.raises(ProofError):
                verify_inclusion(hashes[index], index, size, bent, root)


@pytest.mark.parametrize(
    ("first", "second"), [(1, 2), (1, 13), (2, 3), (3, 7), (4, 8), (6, 13), (8, 13), (12, 13)]
)
def test_a_consistency_proof_fails_when_either_root_has_one_bit_changed(first: int, second: int):
    old, new = root_from_leaf_hashes(LEAVES[:first]), root_from_leaf_hashes(LEAVES[:second])
    proof = consistency_proof(first, second, LEAVES[:second])
    verify_consistency(first, second, old, new, proof)
    with pytest.raises(ProofError):
        verify_consistency(first, second, _flip(old), new, proof)
    with pytest.raises(ProofError):
        verify_consistency(first, second, old, _flip(new), proof)
    for position in range(len(proof)):
        bent = [*proof[:position], _flip(proof[position]), *proof[position + 1 :]]
        with pytest.raises(ProofError):
            verify_consistency(first, second, old, new, bent)


# -- checkpoints and signed notes -----------------------------------------------------------------

ORIGIN = "gateway.example/log"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SIGNER = NoteSigner("gateway.example", KEY)
VERIFIER = parse_verifier_key(verifier_key("gateway.example", KEY.public_key()))
ROOT = root_from_leaf_hashes(LEAVES)


def test_a_checkpoint_note_reads_back_exactly_as_signed():
    checkpoint = Checkpoint(ORIGIN, 13, ROOT, ("ext one",))
    note = sign_checkpoint(checkpoint, SIGNER)
    assert note.startswith(f"{ORIGIN}\n13\n{base64.b64encode(ROOT).decode()}\next one\n\n— ")
    assert open_checkpoint(note, [VERIFIER], origin=ORIGIN) == checkpoint


def test_a_checkpoint_of_another_log_is_refused_even_when_signed_by_a_trusted_key():
    note = sign_checkpoint(Checkpoint("other.example/log", 13, ROOT), SIGNER)
    with pytest.raises(CheckpointError, match=r"other\.example"):
        open_checkpoint(note, [VERIFIER], origin=ORIGIN)


def test_a_checkpoint_whose_size_was_raised_by_one_after_signing_is_refused():
    note = sign_checkpoint(Checkpoint(ORIGIN, 13, ROOT), SIGNER)
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(note.replace("\n13\n", "\n14\n", 1), [VERIFIER])


def test_a_checkpoint_whose_signature_is_off_by_one_bit_is_refused():
    note = sign_checkpoint(Checkpoint(ORIGIN, 13, ROOT), SIGNER)
    body, _, line = note[:-1].rpartition("\n")
    name, _, encoded = line.partition(" ")[2].partition(" ")
    blob = bytearray(base64.b64decode(encoded))
    blob[-1] ^= 1
    bent = f"{body}\n— {name} {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(bent, [VERIFIER])


def test_a_note_signed_only_by_an_untrusted_key_is_refused_and_its_signature_ignored_beside_ours():
    stranger = NoteSigner("stranger.example", Ed25519PrivateKey.from_private_bytes(bytes(32)))
    body = Checkpoint(ORIGIN, 13, ROOT).body()
    theirs = sign_note(body, stranger)
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        verify_note(theirs, [VERIFIER])
    ours = sign_note(body, SIGNER)
    both = ours + theirs[len(body) + 1 :]
    assert verify_note(both, [VERIFIER]) == body
    # the same key name with another key's id is a stranger too
    other_id = NoteSigner("gateway.example", Ed25519PrivateKey.from_private_bytes(bytes(32)))
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        verify_note(sign_note(body, other_id), [VERIFIER])


def test_no_trusted_keys_verifies_nothing():
    with pytest.raises(NoteError, match="no trusted keys"):
        verify_note(sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), SIGNER), [])


@pytest.mark.parametrize(
    "body",
    [
        f"{ORIGIN}\n13\n{base64.b64encode(ROOT).decode()}",  # no final newline
        f"{ORIGIN}\n13\n",  # no root line
        f"{ORIGIN}\n013\n{base64.b64encode(ROOT).decode()}\n",  # leading zero
        f"{ORIGIN}\n-1\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n13\n{base64.b64encode(ROOT[:31]).decode()}\n",  # 31-byte root
        f"{ORIGIN}\n13\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",  # unpadded
        f"\n13\n{base64.b64encode(ROOT).decode()}\n",  # empty origin
        f"{ORIGIN}\n13\n{base64.b64encode(ROOT).decode()}\n\n",  # empty extension
        f"{ORIGIN}\n18446744073709551616\n{base64.b64encode(ROOT).decode()}\n",  # 2**64
    ],
)
def test_a_checkpoint_body_not_in_canonical_form_is_refused(body: str):
    with pytest.raises(CheckpointError):
        parse_checkpoint_body(body)


def test_the_largest_and_smallest_tree_sizes_are_accepted():
    root = base64.b64encode(ROOT).decode()
    assert parse_checkpoint_body(f"{ORIGIN}\n0\n{root}\n").size == 0
    assert parse_checkpoint_body(f"{ORIGIN}\n18446744073709551615\n{root}\n").size == 2**64 - 1


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\tb", "a\x01b"])
def test_a_key_name_with_a_space_a_plus_or_a_control_character_is_refused(name: str):
    with pytest.raises(NoteError):
        NoteSigner(name, KEY)
    with pytest.raises(NoteError):
        verifier_key(name, KEY.public_key())


@pytest.mark.parametrize(
    "vkey",
    [
        "gateway.example+0000000+AQ==",
        "gateway.example",
        "gateway.example+zzzzzzzz+AQ==",
    ],
)
def test_a_malformed_verifier_key_is_refused(vkey: str):
    with pytest.raises(NoteError):
        parse_verifier_key(vkey)


def test_a_verifier_key_whose_id_does_not_belong_to_its_key_is_refused():
    name, key_id, key = verifier_key("gateway.example", KEY.public_key()).split("+", 2)
    wrong_id = f"{(int(key_id, 16) ^ 1):08x}"
    with pytest.raises(NoteError, match="does not belong"):
        parse_verifier_key(f"{name}+{wrong_id}+{key}")
    other_type = base64.b64encode(b"\x02" + base64.b64decode(key)[1:]).decode()
    with pytest.raises(NoteError, match="only Ed25519"):
        parse_verifier_key(f"{name}+{key_id}+{other_type}")


def test_two_trusted_keys_under_one_name_and_id_are_a_configuration_error():
    twin = NoteVerifier.__new__(NoteVerifier)
    object.__setattr__(twin, "name", VERIFIER.name)
    object.__setattr__(twin, "key_id", VERIFIER.key_id)
    object.__setattr__(twin, "public_key", Ed25519PrivateKey.generate().public_key())
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), SIGNER)
    with pytest.raises(NoteError, match="share name"):
        verify_note(note, [VERIFIER, twin])
    assert verify_note(note, [VERIFIER, VERIFIER])


# -- entries --------------------------------------------------------------------------------------


def test_an_entry_time_keeps_milliseconds_and_reads_back_in_utc():
    moment = datetime(2026, 11, 25, 11, 0, 0, 123999, tzinfo=timezone(timedelta(hours=1)))
    assert format_time(moment) == "2026-11-25T10:00:00.123Z"
    assert parse_time("2026-11-25T10:00:00.123Z") == datetime(
        2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC
    )


def test_an_entry_reads_back_from_its_leaf_bytes_with_every_searchable_field():
    entry = LogEntry(
        time=datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC),
        decision="disclosed",
        reason="r",
        exchange_id="x",
        disclosure_id="d",
        purpose="p",
        legal_basis={"article": "a"},
        consent_id="c",
        sender=Sender("swt-denhelder", "actor", "role"),
        recipient="zorg-noord",
        subject="ab" * 32,
        case_id="case",
        fields=("f1", "f2"),
        payload_sha256="00" * 32,
        break_glass=True,
        details={"k": 1},
        trace={"trace_id": "t"},
        processing_activity="urn:pa",
        confidentiality="vertrouwelijk",
        subject_system="urn:sys",
    )
    again = LogEntry.from_canonical(entry.canonical())
    assert again == entry
    assert json.loads(entry.canonical())["v"] == 1
    bare = LogEntry(time=entry.time, decision="disclosed")
    assert set(json.loads(bare.canonical())) == {
        "v", "time", "decision", "reason", "exchange_id", "disclosure_id", "purpose",
        "legal_basis", "consent_id", "sender", "recipient", "subject", "case_id", "fields",
        "payload_sha256", "break_glass", "details",
    }  # fmt: skip
    assert LogEntry.from_canonical(bare.canonical()) == bare


def test_an_entry_with_an_unknown_decision_or_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="decision"):
        LogEntry(time=datetime(2026, 1, 1, tzinfo=UTC), decision="maybe")
    with pytest.raises(ValueError, match="timezone-aware"):
        LogEntry(time=datetime(2026, 1, 1), decision="disclosed")


def test_the_canonical_form_is_sorted_compact_ascii():
    assert canonical_json({"b": 1, "a": "é"}) == b'{"a":"\\u00e9","b":1}'


# -- what a failed proof says -----------------------------------------------------------------------


def test_a_failed_inclusion_proof_says_which_check_failed():
    proof = inclusion_proof(3, LEAVES)
    with pytest.raises(ProofError, match=r"^the proof does not lead to the expected root$"):
        verify_inclusion(_flip(LEAVES[3]), 3, 13, proof, ROOT)
    with pytest.raises(ProofError, match=r"^the leaf hash has 31 bytes, not 32$"):
        verify_inclusion(LEAVES[3][:31], 3, 13, proof, ROOT)
    with pytest.raises(ProofError, match=r"^proof element 1 has 33 bytes, not 32$"):
        verify_inclusion(LEAVES[3], 3, 13, [proof[0], proof[1] + b"x", *proof[2:]], ROOT)
    with pytest.raises(ProofError, match=r"^leaf index 0 is not in a tree of size 0$"):
        verify_inclusion(LEAVES[0], 0, 0, [], ROOT)
    with pytest.raises(ProofError, match=r"^negative leaf index -1 or tree size 13$"):
        verify_inclusion(LEAVES[0], -1, 13, proof, ROOT)


def test_a_failed_consistency_proof_says_which_check_failed():
    old = root_from_leaf_hashes(LEAVES[:6])
    proof = consistency_proof(6, 13, LEAVES)
    with pytest.raises(ProofError, match=r"^the proof does not lead to the first root$"):
        verify_consistency(6, 13, _flip(old), ROOT, proof)
    with pytest.raises(ProofError, match=r"^the proof does not lead to the second root$"):
        verify_consistency(6, 13, old, _flip(ROOT), proof)
    with pytest.raises(
        ProofError, match=r"^the proof does not lead to the same root for the same size$"
    ):
        verify_consistency(13, 13, _flip(ROOT), ROOT, [])
    with pytest.raises(ProofError, match=r"^proof element 0 has 31 bytes, not 32$"):
        verify_consistency(6, 13, old, ROOT, [proof[0][:31], *proof[1:]])
    with pytest.raises(ProofError, match=r"^negative tree size -1 or 13$"):
        verify_consistency(-1, 13, old, ROOT, proof)
    with pytest.raises(ProofError, match=r"^negative tree size 6 or -1$"):
        verify_consistency(6, -1, old, ROOT, proof)


# -- signed notes at their limits ------------------------------------------------------------------


def _stranger_line(n: int, blob_size: int = 68) -> str:
    return f"— stranger-{n} {base64.b64encode(bytes(blob_size)).decode()}\n"


def test_a_note_with_100_signatures_is_read_and_one_with_101_refused():
    note = sign_checkpoint(Checkpoint(ORIGIN, 13, ROOT), SIGNER)
    hundred = note + "".join(_stranger_line(n) for n in range(99))
    assert verify_note(hundred, [VERIFIER]) == Checkpoint(ORIGIN, 13, ROOT).body()
    with pytest.raises(NoteError, match="too many signatures"):
        verify_note(hundred + _stranger_line(99), [VERIFIER])


def test_a_note_of_exactly_one_mebibyte_is_read_and_one_byte_more_refused():
    def note_with(padding: int) -> str:
        return sign_checkpoint(Checkpoint(ORIGIN, 13, ROOT, ("x" * padding,)), SIGNER)

    base = len(note_with(1).encode())
    exact = note_with(1 + (1 << 20) - base)
    assert len(exact.encode()) == 1 << 20
    assert verify_note(exact, [VERIFIER])
    with pytest.raises(NoteError, match="too large"):
        verify_note(note_with(2 + (1 << 20) - base), [VERIFIER])


def test_an_untrusted_signature_of_just_a_key_id_and_one_byte_is_skipped_not_refused():
    note = sign_checkpoint(Checkpoint(ORIGIN, 13, ROOT), SIGNER)
    assert verify_note(note + _stranger_line(1, blob_size=5), [VERIFIER])
    with pytest.raises(NoteError, match="holds a key id and signature bytes"):
        verify_note(note + _stranger_line(1, blob_size=4), [VERIFIER])


def test_a_malformed_signature_line_says_what_is_wrong():
    note = sign_checkpoint(Checkpoint(ORIGIN, 13, ROOT), SIGNER)
    with pytest.raises(NoteError, match=r"^a signature line is '— <key name> <base64 signature>'$"):
        verify_note(note + "— stranger \n", [VERIFIER])
    with pytest.raises(NoteError, match=r"^a signature is not valid base64$"):
        verify_note(note + "— stranger !!!!\n", [VERIFIER])
    with pytest.raises(CheckpointError, match=r"^the root hash line is not valid base64$"):
        parse_checkpoint_body(f"{ORIGIN}\n13\n!!!!\n")


# -- verifying the stored log ------------------------------------------------------------------------


@pytest.fixture
def log_signer() -> NoteSigner:
    return NoteSigner(LOG_ORIGIN, Ed25519PrivateKey.generate())


@pytest.fixture
def log_verifiers(log_signer: NoteSigner) -> list[NoteVerifier]:
    return [parse_verifier_key(verifier_key(LOG_ORIGIN, log_signer.private_key.public_key()))]


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 6 cut across the checkpoints at every 8 entries, as in test_verify_batch."""
    monkeypatch.setattr(verify, "BATCH", 6)


async def test_a_checkpoint_row_whose_root_was_changed_but_not_its_size_is_caught(
    storage_backend: Backend, log_signer: NoteSigner, log_verifiers: list[NoteVerifier]
) -> None:
    storage = await storage_backend.open()
    await _signed_log(storage, log_signer)
    await _sql(
        storage_backend,
        "UPDATE checkpoints SET root_hash = ? WHERE size = 16",
        "UPDATE checkpoints SET root_hash = $1 WHERE size = 16",
        bytes(32),
    )
    with pytest.raises(LogTampered, match="differs from its signed note") as caught:
        await verify_log(storage, log_verifiers, LOG_ORIGIN)
    assert caught.value.index == 16


async def test_a_log_without_checkpoints_verifies_as_unsigned(
    storage_backend: Backend, log_verifiers: list[NoteVerifier]
) -> None:
    storage = await storage_backend.open()
    report = await verify_log(storage, log_verifiers, LOG_ORIGIN)
    assert (report.entries, report.checkpoints, report.signed_size) == (0, 0, 0)
    await storage.append_log([_entry(n) for n in range(3)])
    report = await verify_log(storage, log_verifiers, LOG_ORIGIN)
    assert (report.entries, report.checkpoints, report.signed_size) == (3, 0, 0)


async def test_a_signed_checkpoint_of_the_empty_log_with_a_wrong_root_is_caught(
    storage_backend: Backend, log_signer: NoteSigner, log_verifiers: list[NoteVerifier]
) -> None:
    storage = await storage_backend.open()
    wrong = bytes(32)
    note = sign_checkpoint(Checkpoint(LOG_ORIGIN, 0, wrong), log_signer)
    await storage.store_tree([], StoredCheckpoint(0, wrong, note, T0))
    with pytest.raises(LogTampered, match="empty log has a wrong root") as caught:
        await verify_log(storage, log_verifiers, LOG_ORIGIN)
    assert caught.value.index == 0


async def test_a_leaf_edited_with_its_hash_before_the_first_signed_size_is_placed_from_index_0(
    storage_backend: Backend, log_signer: NoteSigner, log_verifiers: list[NoteVerifier]
) -> None:
    storage = await storage_backend.open()
    leaves = await _signed_log(storage, log_signer)
    forged = leaves[3].replace(b"zorg-noord", b"school-de-es")
    await _sql(
        storage_backend,
        "UPDATE log_entries SET leaf = ? WHERE idx = 3",
        "UPDATE log_entries SET leaf = $1 WHERE idx = 3",
        forged,
    )
    await _sql(
        storage_backend,
        "UPDATE tree_nodes SET hash = ? WHERE level = 0 AND idx = 3",
        "UPDATE tree_nodes SET hash = $1 WHERE level = 0 AND idx = 3",
        hashlib.sha256(b"\x00" + forged).digest(),
    )
    with pytest.raises(LogTampered) as caught:
        await verify_log(storage, log_verifiers, LOG_ORIGIN)
    assert caught.value.index == 0
    assert "[0, 8)" in caught.value.problem


@pytest.mark.parametrize("index", [9, 15])
async def test_a_row_deleted_from_the_middle_of_a_batch_is_reported_at_its_own_index(
    storage_backend: Backend, log_signer: NoteSigner, log_verifiers: list[NoteVerifier], index: int
) -> None:
    storage = await storage_backend.open()
    await _signed_log(storage, log_signer)
    await _sql(
        storage_backend,
        "DELETE FROM log_entries WHERE idx = ?",
        "DELETE FROM log_entries WHERE idx = $1",
        index,
    )
    with pytest.raises(LogTampered) as caught:
        await verify_log(storage, log_verifiers, LOG_ORIGIN)
    assert caught.value.index == index
    assert caught.value.problem == "entry missing (deleted or renumbered)"
    assert str(caught.value) == f"log entry {index}: entry missing (deleted or renumbered)"


async def test_an_edited_leaf_is_reported_as_differing_from_what_was_signed(
    storage_backend: Backend, log_signer: NoteSigner, log_verifiers: list[NoteVerifier]
) -> None:
    storage = await storage_backend.open()
    leaves = await _signed_log(storage, log_signer)
    await _sql(
        storage_backend,
        "UPDATE log_entries SET leaf = ? WHERE idx = 7",
        "UPDATE log_entries SET leaf = $1 WHERE idx = 7",
        leaves[7] + b" ",
    )
    with pytest.raises(LogTampered) as caught:
        await verify_log(storage, log_verifiers, LOG_ORIGIN)
    assert caught.value.problem == "entry differs from the leaf that was signed (edited or moved)"


# -- the searchable columns of a row, as its leaf says they must be (gateway/log/columns.py) ----

_COLUMNS_ENTRY = LogEntry(
    time=datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC),
    decision="refused",
    reason="consent_required",
    purpose="referral",
    sender=Sender("swt-denhelder", "actor", "role"),
    recipient="zorg-noord",
    subject="ab" * 32,
    exchange_id="ex_1",
    break_glass=True,
)
_T_MS = 1795600800123  # 2026-11-25T10:00:00.123Z in milliseconds since the epoch


def test_a_leaf_implies_every_searchable_column_in_order():
    assert SEARCHABLE_COLUMNS == (
        "time_ms",
        "decision",
        "purpose",
        "sender",
        "recipient",
        "subject",
        "exchange_id",
        "reason",
        "break_glass",
    )
    assert leaf_columns(_COLUMNS_ENTRY.canonical()) == (
        _T_MS,
        "refused",
        "referral",
        "swt-denhelder",
        "zorg-noord",
        "ab" * 32,
        "ex_1",
        "consent_required",
        True,
    )
    bare = LogEntry(time=_COLUMNS_ENTRY.time, decision="purged")
    assert leaf_columns(bare.canonical()) == (_T_MS, "purged", *[None] * 6, False)


def _leaf_at(time: object) -> bytes:
    obj = _COLUMNS_ENTRY.to_json()
    obj["time"] = time
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    ("time", "ms"),
    [
        ("2026-11-25T10:00:00.123Z", _T_MS),
        ("2026-11-25T10:00:00.000Z", _T_MS - 123),
        ("2026-11-25T10:00:00.999Z", _T_MS - 123 + 999),
        ("2026-11-25T10:00:00Z", _T_MS - 123),
        ("2026-11-25T10:00:00.12Z", _T_MS - 3),
        ("2026-11-25T11:00:00.123+01:00", _T_MS),
        ("1970-01-01T00:00:00.001Z", 1),
        ("2026-11-25T10:00:00.1235Z", _T_MS),  # a tenth of a millisecond is cut, not kept
    ],
)
def test_a_leafs_time_becomes_the_milliseconds_its_row_stores(time: str, ms: int):
    columns = leaf_columns(_leaf_at(time))
    assert columns is not None
    assert columns[0] == ms


@pytest.mark.parametrize(
    "leaf",
    [
        b"not json",
        _leaf_at(None),  # a time that is not text
        _leaf_at("2026-11-25T10:00:00.1234"),  # 24 characters, no zone: no instant at all
        _leaf_at("yesterday"),
        _leaf_at("2026-11-25T10:00:00.123ZZ"),  # near the canonical form, but none of these
        _leaf_at("2026-11-25T10:00:00.123z"),
        _leaf_at("2026-11-25T10:00:00.+23Z"),
        _leaf_at("2026-11-25T10:00:00X123Z"),
        json.dumps({"time": "2026-11-25T10:00:00.123Z"}).encode(),  # no decision and the rest
        json.dumps({**_COLUMNS_ENTRY.to_json(), "sender": {"actor": "a"}}).encode(),
        json.dumps({**_COLUMNS_ENTRY.to_json(), "sender": "swt-denhelder"}).encode(),
    ],
)
def test_a_leaf_that_is_no_entry_implies_no_columns(leaf: bytes):
    assert leaf_columns(leaf) is None
    assert disagreeing_columns([None] * 9, leaf) == list(SEARCHABLE_COLUMNS)


def test_the_columns_that_disagree_with_the_leaf_are_named_in_column_order():
    leaf = _COLUMNS_ENTRY.canonical()
    stored = [_T_MS, "refused", "referral", "swt-denhelder", "zorg-noord", "ab" * 32, "ex_1"]
    stored += ["consent_required", 1]  # SQLite stores break_glass as 1
    assert disagreeing_columns(stored, leaf) == []
    moved = [*stored]
    moved[5] = "cd" * 32
    moved[0] = _T_MS + 1
    assert disagreeing_columns(moved, leaf) == ["time_ms", "subject"]
    moved = [*stored[:-1], False]
    assert disagreeing_columns(moved, leaf) == ["break_glass"]


async def test_a_row_moved_to_another_subject_by_editing_its_column_is_caught_and_named(
    storage_backend: Backend, log_signer: NoteSigner, log_verifiers: list[NoteVerifier]
) -> None:
    # In-process twin of tests/test_log_columns_verify.py (which runs the command): every leaf
    # and checkpoint still verifies, only the searchable column was changed.
    storage = await storage_backend.open()
    await _signed_log(storage, log_signer)
    await _sql(
        storage_backend,
        "UPDATE log_entries SET subject = ? WHERE idx = 5",
        "UPDATE log_entries SET subject = $1 WHERE idx = 5",
        "pseudo-other",
    )
    with pytest.raises(LogTampered) as caught:
        await verify_log(storage, log_verifiers, LOG_ORIGIN)
    assert caught.value.index == 5
    assert caught.value.problem == (
        "column subject of its database row disagrees with its signed leaf (edited in the "
        "database: searches and subject access reports would misplace it)"
    )
