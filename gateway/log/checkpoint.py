"""Signed checkpoints of the disclosure log: C2SP tlog-checkpoint bodies in C2SP signed notes.

A checkpoint names the log (origin), its size and its RFC 9162 root hash; the gateway signs
it with Ed25519 as a signed note so any outside auditor can check it with their own
signed-note implementation. Pure: keys are passed in, nothing is read or written.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
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
]

_ROOT_HASH_SIZE = 32
_MAX_TREE_SIZE = 2**64 - 1
_ED25519_TYPE = 0x01
_ED25519_SIGNATURE_SIZE = 64
_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
# The spec asks verifiers to accept at least 16 signatures; bounding them bounds the work.
_MAX_SIGNATURES = 100
_MAX_NOTE_BYTES = 1 << 20
_TREE_SIZE_PATTERN = re.compile(r"0|[1-9][0-9]*")
_KEY_ID_PATTERN = re.compile(r"[0-9a-fA-F]{8}")


class NoteError(ValueError):
    """A signed note is malformed, or no signature on it from a known key verifies."""


class CheckpointError(NoteError):
    """A checkpoint body breaks the tlog-checkpoint format."""


def _has_control_characters(text: str) -> bool:
    return any(ord(char) < 0x20 and char != "\n" for char in text)


def _is_valid_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be encoded
        return False
    return True


def _is_valid_key_name(name: str) -> bool:
    """Key names are non-empty and hold no Unicode space and no plus sign."""
    return (
        bool(name)
        and _is_valid_utf8(name)
        and not _has_control_characters(name)
        and not any(char.isspace() for char in name)
        and "+" not in name
    )


def _b64decode(text: str, what: str, error: type[NoteError] = NoteError) -> bytes:
    """Decode standard padded base64, refusing any other spelling of the same bytes."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except ValueError as exc:
        raise error(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise error(f"{what} is not canonical base64")
    return raw


def _key_id(name: str, key_type: int, public_key: bytes) -> int:
    """SHA-256(name || 0x0A || type || public key)[:4] as a big-endian uint32."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([key_type]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


def _raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The log's tree head at one size: origin, tree size and RFC 9162 root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, line in [("origin", self.origin), *(("extension", e) for e in self.extensions)]:
            if not line or "\n" in line or _has_control_characters(line):
                raise CheckpointError(f"a checkpoint {what} line must be non-empty plain text")
            if not _is_valid_utf8(line):
                raise CheckpointError(f"a checkpoint {what} line must be valid UTF-8")
        if type(self.size) is not int or not 0 <= self.size <= _MAX_TREE_SIZE:
            raise CheckpointError(f"tree size {self.size!r} is not an unsigned 64-bit number")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != _ROOT_HASH_SIZE:
            raise CheckpointError(f"a root hash has {_ROOT_HASH_SIZE} bytes")

    def body(self) -> str:
        """The note text: origin, decimal size, base64 root hash, extensions, one per line."""
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root_hash).decode("ascii"),
            *self.extensions,
        ]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Read a checkpoint from a note's text, refusing anything not in canonical form."""
    if not text.endswith("\n"):
        raise CheckpointError("a checkpoint body ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint body has an origin, a size and a root hash line")
    origin, size_line, root_line, *extensions = lines
    if not _TREE_SIZE_PATTERN.fullmatch(size_line):
        raise CheckpointError("the tree size line is not a decimal without leading zeroes")
    root_hash = _b64decode(root_line, "the root hash line", CheckpointError)
    return Checkpoint(origin, int(size_line), root_hash, tuple(extensions))


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """A named Ed25519 key that signs notes, such as the gateway's checkpoint key."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        if not _is_valid_key_name(self.name):
            raise NoteError(f"key name {self.name!r} is empty or holds a space or '+'")

    @property
    def key_id(self) -> int:
        """The 32-bit key id that prefixes each signature."""
        return _key_id(self.name, _ED25519_TYPE, _raw_public_key(self.private_key.public_key()))


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A trusted named Ed25519 public key that signed notes are checked against."""

    name: str
    key_id: int
    public_key: Ed25519PublicKey = field(repr=False)

    def __post_init__(self) -> None:
        if not _is_valid_key_name(self.name):
            raise NoteError(f"key name {self.name!r} is empty or holds a space or '+'")
        if self.key_id != _key_id(self.name, _ED25519_TYPE, _raw_public_key(self.public_key)):
            raise NoteError(f"key id {self.key_id:08x} does not belong to key {self.name!r}")


def _check_note_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    if not _is_valid_utf8(text) or _has_control_characters(text):
        raise NoteError("a note is UTF-8 without control characters other than newline")


def sign_note(body: str, signer: NoteSigner) -> str:
    """Sign a note's text: the text, a blank line and one Ed25519 signature line."""
    _check_note_text(body)
    signature = signer.private_key.sign(body.encode("utf-8"))
    blob = signer.key_id.to_bytes(4, "big") + signature
    return f"{body}\n{_SIGNATURE_PREFIX}{signer.name} {base64.b64encode(blob).decode('ascii')}\n"


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The signed-note verifier key string ``name+keyid+base64(0x01 || key)`` to publish."""
    if not _is_valid_key_name(name):
        raise NoteError(f"key name {name!r} is empty or holds a space or '+'")
    raw = _raw_public_key(public_key)
    encoded = base64.b64encode(bytes([_ED25519_TYPE]) + raw).decode("ascii")
    return f"{name}+{_key_id(name, _ED25519_TYPE, raw):08x}+{encoded}"


def parse_verifier_key(vkey: str) -> NoteVerifier:
    """Read a published verifier key, checking that its key id matches its key."""
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key has the form name+keyid+key")
    name, key_id_hex, key_b64 = parts
    if not _KEY_ID_PATTERN.fullmatch(key_id_hex):
        raise NoteError("a verifier key's id is 8 hexadecimal digits")
    key = _b64decode(key_b64, "the verifier key")
    if len(key) != 33 or key[0] != _ED25519_TYPE:
        raise NoteError("only Ed25519 verifier keys (type 0x01, 32 bytes) are supported")
    return NoteVerifier(name, int(key_id_hex, 16), Ed25519PublicKey.from_public_bytes(key[1:]))


def _index_verifiers(verifiers: Sequence[NoteVerifier]) -> dict[tuple[str, int], NoteVerifier]:
    known: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        earlier = known.setdefault(slot, verifier)
        if _raw_public_key(earlier.public_key) != _raw_public_key(verifier.public_key):
            raise NoteError(f"two trusted keys share name {verifier.name!r} and key id")
    return known


def verify_note(note: str, verifiers: Sequence[NoteVerifier]) -> str:
    """Return a signed note's text once a trusted key's signature on it verifies.

    Signatures by keys not in ``verifiers`` are ignored; a failing signature by a trusted
    key rejects the whole note, and so does a note without any trusted signature.
    """
    known = _index_verifiers(verifiers)
    if not known:
        raise NoteError("no trusted keys to verify the note with")
    _check_note_text(note)
    if len(note.encode("utf-8")) > _MAX_NOTE_BYTES:
        raise NoteError("the note is too large")
    # The text is separated from the signatures by the note's last blank line.
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a note has a blank line before its signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    if not signature_block:
        raise NoteError("a note has at least one signature line")
    lines = signature_block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError("the note has too many signatures")
    message = text.encode("utf-8")
    verified = 0
    for line in lines:
        if not line.startswith(_SIGNATURE_PREFIX):
            raise NoteError("a signature line starts with an em dash and a space")
        name, space, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        if not space or not encoded or not _is_valid_key_name(name):
            raise NoteError("a signature line is '— <key name> <base64 signature>'")
        blob = _b64decode(encoded, "a signature")
        if len(blob) < 5:
            raise NoteError("a signature holds a key id and signature bytes")
        verifier = known.get((name, int.from_bytes(blob[:4], "big")))
        if verifier is None:
            continue
        signature = blob[4:]
        if len(signature) != _ED25519_SIGNATURE_SIZE:
            raise NoteError(f"the signature by {name!r} is not an Ed25519 signature")
        try:
            verifier.public_key.verify(signature, message)
        except InvalidSignature as exc:
            raise NoteError(f"the signature by {name!r} does not verify") from exc
        verified += 1
    if not verified:
        raise NoteError("the note carries no signature from a trusted key")
    return text


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """The signed note of a checkpoint, as served at /v1/audit/checkpoint."""
    return sign_note(checkpoint.body(), signer)


def open_checkpoint(note: str, verifiers: Sequence[NoteVerifier], *, origin: str) -> Checkpoint:
    """Verify a signed checkpoint note and read it, insisting it comes from ``origin``."""
    checkpoint = parse_checkpoint_body(verify_note(note, verifiers))
    if checkpoint.origin != origin:
        raise CheckpointError(f"the checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
