"""The offline verification page: one self-contained ``verify.html`` an employer opens in a browser.

The instructor publishes it with ``issuer.json`` and ``status-list.json`` (see ``publish_url`` in
curriculum.yml), and certify writes it next to the certificates. Opened from disk or from the web,
with no network, it checks a credential file dropped on it: the Data Integrity proof
(``eddsa-rdfc-2022``, and the older ``eddsa-jcs-2022``) with the browser's Web Crypto API, the
issuer's ``did:key``, the dates, and revocation when the status list file is dropped too (or, when
the page is served over http(s), fetched from the credential's ``statusListCredential`` URL).

The verdict is one of three: VALID (every check passed, revocation included); "VALID signature —
revocation NOT checked" when the credential has a status entry but no list was given, so a
revoked credential never reads as a plain VALID; INVALID with every reason, also whenever a check
cannot be made. (``autograder verify`` has no such middle verdict: without the list it fails closed.)

What the page trusts is written into it here: the issuer profile (its ``did:key`` is the only key
the page accepts) and the pinned JSON-LD contexts (the page's document loader serves only those).
The JavaScript is ``autograder/credentials/assets/verify-bundle.js``, built from ``tools/verify-page/`` (jsonld.js
for RDFC-1.0, canonicalize for RFC 8785, base58-universal) and committed, so nothing here needs npm
or the network. Every value from a credential is rendered with ``textContent``; the values this
module inlines are JSON inside ``<script type="application/json">`` with ``<``, ``>`` and ``&``
escaped, so no issuer name or context can close the script element.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

from autograder.files import atomic_write_bytes
from autograder.credentials.jsonld import PINNED

VERIFY_PAGE_FILE = "verify.html"
BUNDLE = "verify-bundle.js"


class VerifyPageError(RuntimeError):
    """A packaged file the page needs is missing; the message names it and the fix."""


def _package_text(folder: str, name: str) -> str:
    try:
        return resources.files("autograder.credentials").joinpath(folder, name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VerifyPageError(
            f"autograder/{folder}/{name} is missing from the installed package, so the verification page "
            "cannot be written. Reinstall the package (`make` or `pip install -e .`); for the JavaScript "
            "bundle, see tools/verify-page/README.md."
        ) from None


def pinned_contexts() -> dict[str, dict]:
    """The JSON-LD contexts the page's document loader serves, by URL: the same pinned files the
    Python verifier uses (:data:`autograder.credentials.jsonld.PINNED`), so both read a credential alike."""
    return {url: json.loads(_package_text("contexts", path.name)) for url, path in PINNED.items()}


def _script_json(value) -> str:
    """JSON safe inside a <script> element: '<', '>' and '&' as \\u escapes (still the same JSON)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def trusted_issuer(issuer: dict) -> dict:
    """What the page trusts of the issuer profile: its did:key id and its name (nothing else is used)."""
    if not isinstance(issuer, dict) or not str(issuer.get("id", "")).startswith("did:key:z"):
        raise VerifyPageError("the issuer profile has no did:key id; run `autograder keys` to publish "
                              "certificates/issuer.json, then write the page again")
    return {"id": issuer["id"], "name": str(issuer.get("name") or issuer["id"])}


def render_verify_page(issuer: dict) -> str:
    """The page's HTML, with the trusted issuer, the pinned contexts and the script inlined."""
    trusted = trusted_issuer(issuer)
    bundle = _package_text("assets", BUNDLE)
    if "</script" in bundle.lower():
        raise VerifyPageError(f"autograder/credentials/assets/{BUNDLE} contains '</script' and cannot be inlined; rebuild it")
    return PAGE.format(
        issuer_name=html.escape(trusted["name"]), issuer_id=html.escape(trusted["id"]),
        issuer_json=_script_json(trusted), contexts_json=_script_json(pinned_contexts()), bundle=bundle,
    )


def write_verify_page(path: Path | str, issuer: dict) -> Path:
    """Write the page to ``path`` (a file, or a folder to hold ``verify.html``); return the file's path."""
    path = Path(path)
    if path.is_dir():
        path = path / VERIFY_PAGE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, render_verify_page(issuer).encode("utf-8"))
    return path


# The template: literal braces are doubled for str.format. The verdict element #verdict carries
# data-state (ready, pending, valid, unchecked, invalid) and data-run (how many checks finished),
# which the browser test waits on.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src https: http:; img-src data:">
<title>Verify a certificate — {issuer_name}</title>
<style>
  body {{ font-family: Helvetica, Arial, sans-serif; color: #1d2733; background: #eef1f4; margin: 0; }}
  main {{ background: #fff; max-width: 860px; margin: 24px auto; padding: 28px 40px; border-top: 6px solid #1f4e79; }}
  h1 {{ font-size: 24px; margin: 0 0 4px; }}
  .issuer {{ color: #55606b; font-size: 13px; word-break: break-all; }}
  .zones {{ display: flex; gap: 16px; margin: 20px 0; }}
  .zone {{ flex: 1; border: 2px dashed #9aa7b4; border-radius: 8px; padding: 16px; text-align: center; font-size: 14px; }}
  .zone.over {{ border-color: #1f4e79; background: #eaf2fa; }}
  .zone .file {{ display: block; margin-top: 8px; font-family: 'Courier New', monospace; font-size: 12px; word-break: break-all; }}
  #verdict {{ font-size: 26px; font-weight: bold; padding: 12px 16px; border-radius: 6px; background: #f1f3f5; word-break: break-word; }}
  #verdict[data-state="valid"] {{ background: #dff3e4; color: #14532d; }}
  #verdict[data-state="unchecked"] {{ background: #fff4d6; color: #7a4b00; }}
  #verdict[data-state="invalid"] {{ background: #fde2e1; color: #8a1c1c; }}
  #reasons li {{ margin: 4px 0; }}
  #reasons li.note {{ color: #55606b; }}
  table {{ border-collapse: collapse; margin-top: 12px; font-size: 14px; }}
  th, td {{ padding: 4px 12px; border-bottom: 1px solid #d5dbe1; text-align: left; vertical-align: top; }}
  .small {{ font-size: 12px; color: #55606b; }}
</style>
</head>
<body>
<main>
  <h1>Verify a certificate</h1>
  <div class="issuer">Trusted issuer: <strong>{issuer_name}</strong> — {issuer_id}</div>
  <div class="zones">
    <label class="zone" id="credential-zone">Drop the credential file (<code>.json</code>) here, or choose it:<br>
      <input type="file" id="credential-file" accept=".json,application/json">
      <span class="file" id="credential-name"></span></label>
    <label class="zone" id="status-zone">Optional: drop the issuer's status list (<code>status-list.json</code>) to check revocation:<br>
      <input type="file" id="status-file" accept=".json,application/json">
      <span class="file" id="status-name"></span></label>
  </div>
  <div id="verdict" data-state="loading" data-run="0" role="status" aria-live="polite">Choose a credential file.</div>
  <div class="small" id="checked-file"></div>
  <ul id="reasons"></ul>
  <table id="details"></table>
  <p class="small">Everything is checked in this browser; no file leaves your computer. VALID means: the
  signature (Data Integrity, eddsa-rdfc-2022 or eddsa-jcs-2022) matches every field, it was made with the
  key of the issuer named above, the dates hold, and — when the credential has a status entry — the
  issuer's status list does not mark it revoked. Without the status list the verdict reads
  "VALID signature — revocation NOT checked".</p>
</main>
<script type="application/json" id="trusted-issuer">{issuer_json}</script>
<script type="application/json" id="pinned-contexts">{contexts_json}</script>
<script>{bundle}</script>
</body>
</html>
"""

__all__ = ["write_verify_page", "render_verify_page", "pinned_contexts", "VerifyPageError", "VERIFY_PAGE_FILE"]
