"""`autograder keys`: create the course's Ed25519 issuer key pair, once.

The private key is written to ``keys/issuer-ed25519.pem`` in the course folder, readable by its
owner only (0600, in a 0700 folder; ``keys/`` is git-ignored) and is never printed. The public key
is published in the issuer profile, ``certificates/issuer.json``: an Open Badges ``Profile`` whose
id is the key's ``did:key`` and whose ``verificationMethod`` carries the key itself. Anyone holding
that profile can verify the course's certificates; only the key file can issue them.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from autograder.credentials.openbadge import did_key, issuer_profile
from autograder.curriculum import CurriculumError, load_curriculum
from autograder.files import write_json
from autograder.credentials.verify_page import write_verify_page

KEY_DIR = "keys"
PRIVATE_KEY_FILE = "issuer-ed25519.pem"
CERTIFICATE_DIR = "certificates"
ISSUER_FILE = "issuer.json"


class IssuerKeyError(CurriculumError):
    """The issuer key is missing, unsafe, or would be overwritten; the message names the fix."""


def private_key_path(course_root: Path) -> Path:
    return Path(course_root) / KEY_DIR / PRIVATE_KEY_FILE


def issuer_profile_path(course_root: Path) -> Path:
    return Path(course_root) / CERTIFICATE_DIR / ISSUER_FILE


def create_issuer_key(course_root: Path) -> tuple[Path, dict]:
    """Create the key pair and publish the issuer profile; refuse to replace an existing key."""
    curriculum = load_curriculum(course_root)
    path = private_key_path(curriculum.root)
    if path.exists():
        raise IssuerKeyError(
            f"An issuer key already exists at {path}; it was not replaced. Replacing it would make every "
            "certificate issued so far fail verification. Move it away yourself if you really mean to."
        )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Created owner-only from the first byte (O_EXCL: never follows or reuses an existing file).
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, pem)
    finally:
        os.close(descriptor)
    profile = publish_issuer_profile(curriculum.root, key)
    return path, profile


def publish_issuer_profile(course_root: Path, key: Ed25519PrivateKey) -> dict:
    """Write certificates/issuer.json and, beside it, the offline verification page that trusts it."""
    curriculum = load_curriculum(course_root)
    profile = issuer_profile(
        key.public_key(), name=curriculum.title,
        description=f"Issuer of {curriculum.title} certificates (course id: {curriculum.course_id}).",
    )
    write_json(issuer_profile_path(curriculum.root), profile)
    write_verify_page(issuer_profile_path(curriculum.root).parent, profile)
    return profile


def load_private_key(course_root: Path) -> Ed25519PrivateKey:
    path = private_key_path(course_root)
    if not path.exists():
        raise IssuerKeyError(
            f"No issuer key at {path}. Run `autograder keys` once to create it, then certify again."
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise IssuerKeyError(
            f"The issuer key {path} can be read by other users (mode {mode:04o}). "
            f"Run `chmod 600 {path}` and certify again."
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:  # damaged, truncated, encrypted, other format
        key, detail = None, str(error).splitlines()[0] if str(error) else type(error).__name__
    else:
        detail = f"it holds a {type(key).__name__.lstrip('_')}"
    if not isinstance(key, Ed25519PrivateKey):
        raise IssuerKeyError(
            f"The issuer key {path} is not a readable Ed25519 private key ({detail}); nothing was issued. "
            "Restore the file from your backup. Only if no backup exists: move it away and run "
            "`autograder keys` to create a new key; certificates signed with the old key will then fail "
            "verification, so issue them again with `autograder certify`."
        )
    return key


def load_issuer_profile(course_root: Path | None = None, path: Path | None = None) -> dict:
    path = Path(path) if path else issuer_profile_path(course_root)
    if not path.exists():
        raise IssuerKeyError(
            f"No issuer profile at {path}. The course publishes it when `autograder keys` creates the key; "
            "to check a certificate from elsewhere, pass that issuer's profile with --issuer."
        )
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise IssuerKeyError(f"{path} is not valid JSON ({error}). In the course folder, `autograder keys` "
                             "publishes it again from the key; from elsewhere, ask the issuer for it.") from None
    if not isinstance(profile, dict) or not isinstance(profile.get("id"), str):
        raise IssuerKeyError(f"{path} is not an issuer profile (a JSON object with an 'id'). In the course folder, "
                             "`autograder keys` publishes it again from the key; from elsewhere, ask the issuer.")
    return profile


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "keys", help="create the course's issuer key pair (once)",
        description="Create the Ed25519 key that signs certificates (owner-only file, never printed) "
                    "and publish its public key in certificates/issuer.json.",
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    curriculum = load_curriculum(args.course)
    path = private_key_path(curriculum.root)
    if path.exists():
        key = load_private_key(curriculum.root)
        profile = publish_issuer_profile(curriculum.root, key)
        print(f"The issuer key already exists ({path}); nothing replaced.")
    else:
        path, profile = create_issuer_key(curriculum.root)
        print(f"Created the issuer key: {path} (owner-only, mode 0600). Keep it private and backed up;")
        print("it is never printed and never committed (keys/ is git-ignored).")
    print(f"Issuer: {profile['name']} — {profile['id']}")
    print(f"Public key published in {issuer_profile_path(curriculum.root)}; the offline verification page is "
          f"{issuer_profile_path(curriculum.root).parent / 'verify.html'}.")
    return 0


__all__ = ["create_issuer_key", "load_private_key", "load_issuer_profile", "did_key"]
