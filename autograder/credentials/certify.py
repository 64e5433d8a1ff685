"""`autograder certify`: issue a signed Open Badges 3.0 certificate to every learner who meets a track's rule.

For each track in curriculum.yml and each learner in the gradebook, the track's rule is checked
(at least ``min_share_per_lab`` of the points on every required lab; no submission under review
unless the rule allows it). Each learner who meets it gets:

- ``certificates/<track>/<learner>-<CODE>.json``: an ``OpenBadgeCredential`` signed with the
  course's Ed25519 key (Data Integrity proof, eddsa-rdfc-2022), and
- ``certificates/<track>/<learner>-<CODE>.html``: a printable certificate page with the learner's
  name, the track, the date and the short verification code.

Each credential carries a ``credentialStatus`` entry: a random position in the course's signed
revocation list, ``certificates/status-list.json`` (W3C Bitstring Status List; see
:mod:`autograder.credentials.status_list`), which the instructor publishes at ``course.publish_url`` next to
``issuer.json``. Certify writes that list when it is missing (all positions 0, "not revoked") and
refuses to issue anything while curriculum.yml does not say where it is published.

Certifying again issues nothing new unless something the credential states changed (name, labs,
results, rule); a changed one is issued afresh and the old one is marked superseded in the ledger.
A learner who holds a certificate but no longer meets the rule is reported, never silently kept,
and the report names the `autograder revoke` command. A track that lists a planned (unwritten) lab
cannot be earned yet, and certify says so.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import segno

from autograder.results import Cohort, load_cohort
from autograder.credentials.openbadge import (
    build_credential, canonical_json, format_datetime, learner, percent, sign, utc_now, validate_ob_schema,
    verification_code,
)
from autograder.curriculum import Curriculum, CurriculumError, Track, load_curriculum
from autograder.files import atomic_write_bytes, write_json
from autograder.credentials.keys import (
    IssuerKeyError, create_issuer_key, load_private_key, private_key_path, publish_issuer_profile,
)
from autograder.credentials.ledger import (
    certificate_dir, find_revocation, load_ledger, load_revocations, write_ledger, used_status_indexes,
)
from autograder.credentials.status_list import STATUS_LIST_FILE, list_url, pick_index, publish, status_entry
from autograder.credentials.verify_page import write_verify_page


@dataclass
class Decision:
    """Whether one learner meets one track's rule, and why not."""

    student: str
    name: str
    track: Track
    met: bool
    reasons: list[str]
    labs: list[dict]


@dataclass
class CertifyResult:
    issued: list[dict] = field(default_factory=list)        # new ledger entries written this run
    unchanged: list[dict] = field(default_factory=list)     # current entries that still hold
    dropped: list[tuple[dict, list[str]]] = field(default_factory=list)  # holders who no longer meet
    held_back: list[tuple[dict, str]] = field(default_factory=list)      # revoked: not reissued
    not_met: list[Decision] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)            # track id -> why
    key_created: bool = False
    status_list_written: str = ""   # the list's URL, when certify (re)wrote certificates/status-list.json
    directory: Path | None = None
    learners: int = 0

    @property
    def current(self) -> list[dict]:
        return self.issued + self.unchanged

    def summary(self) -> str:
        lines = []
        if self.key_created:
            lines.append("No issuer key existed: created keys/issuer-ed25519.pem (owner-only) and "
                         "published the public key in certificates/issuer.json.")
        if self.status_list_written:
            lines.append(f"Wrote the signed revocation list certificates/{STATUS_LIST_FILE}; publish it "
                         f"at {self.status_list_written} (with issuer.json) so anyone can check revocations.")
        for message in self.unavailable.values():
            lines.append(message)
        for entry in self.issued:
            again = " (reissued: something changed)" if entry.get("replaces") else ""
            lines.append(f"Issued {entry['track_title']} to {entry['name']}{again}: code {entry['code']}, "
                         f"{entry['file']}")
        if self.unchanged:
            lines.append(f"{len(self.unchanged)} certificate(s) already issued and unchanged; nothing new issued for them.")
        for entry, reasons in self.dropped:
            lines.append(f"ATTENTION: {entry['name']} holds {entry['track_title']} certificate {entry['code']} but no "
                         f"longer meets its rule ({'; '.join(reasons)}). Kept for now; to withdraw it run "
                         f"`autograder revoke {entry['code']} --reason \"...\"`.")
        for entry, why in self.held_back:
            lines.append(f"Not reissued: {entry['name']}'s {entry['track_title']} certificate {entry['code']} "
                         f"was revoked ({why}).")
        for decision in self.not_met:
            lines.append(f"Not yet: {decision.name} for {decision.track.title}: {'; '.join(decision.reasons)}.")
        if not self.learners:
            lines.append("No learners in the gradebook yet: nothing to certify.")
        return "\n".join(lines)

    __str__ = summary


# --- The rule ----------------------------------------------------------------------------------

def track_unavailable(curriculum: Curriculum, track: Track) -> str | None:
    planned = [lab_id for lab_id in track.labs if not curriculum.lab(lab_id).ready]
    if planned:
        return (f"Track '{track.id}' ({track.title}) cannot be earned yet: it requires "
                f"{len(planned)} planned lab(s) that are not written yet ({', '.join(planned)}). "
                "No certificates issued for it.")
    return None


def criteria_text(curriculum: Curriculum, track: Track) -> str:
    labs = "; ".join(f"{lab_id} ({curriculum.lab(lab_id).title})" for lab_id in track.labs)
    review = "" if track.allow_under_review else " No submission may be under review."
    return (f"At least {percent(track.min_share_per_lab)} % of the points on every required lab: {labs}."
            f"{review} A lab's share is the points awarded (autograded and manually graded) over its maximum.")


def shorten(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def decide(cohort: Cohort, track: Track, student: str) -> Decision:
    reasons, labs, not_graded, not_submitted = [], [], [], []
    for lab_id in track.labs:
        lab = cohort.curriculum.lab(lab_id)
        row = cohort.lab_row(student, lab_id)
        if row is None:
            not_graded.append(lab_id)
            continue
        if not row["submitted"]:
            not_submitted.append(lab_id)
            if row["needs_review"] and not track.allow_under_review:
                reasons.append(f"{lab_id} is under review: {shorten(row['review_reason'] or 'needs review')}")
            continue
        share = float(row["share"])
        labs.append({"id": lab_id, "title": lab.title, "share": share, "required_share": track.min_share_per_lab})
        if share + 1e-9 < track.min_share_per_lab:
            reasons.append(f"{lab_id} at {percent(share)} % (needs {percent(track.min_share_per_lab)} %)")
        if row["needs_review"] and not track.allow_under_review:
            reasons.append(f"{lab_id} is under review: {shorten(row['review_reason'] or 'needs review')}")
    if not_submitted:
        reasons.insert(0, f"no submission for {', '.join(not_submitted)}")
    if not_graded:
        reasons.insert(0, f"{', '.join(not_graded)} not graded yet")
    return Decision(student, cohort.name(student), track, not reasons, reasons, labs)


def fingerprint(decision: Decision, criteria: str) -> str:
    """A digest of everything the credential states, apart from its id and dates."""
    claims = {
        "student": decision.student, "name": decision.name, "track": decision.track.id,
        "title": decision.track.title, "criteria": criteria,
        "labs": [[lab["id"], percent(lab["share"]), percent(lab["required_share"])] for lab in decision.labs],
    }
    return hashlib.sha256(canonical_json(claims).encode()).hexdigest()


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "learner"


# --- Issuing -----------------------------------------------------------------------------------

def certify_cohort(
    course_root: Path | str,
    *,
    create_keys: bool = True,
    valid_days: int | None = None,
    now: datetime | None = None,
    outcomes: list | None = None,
) -> CertifyResult:
    """Certify every learner who meets a track's rule; see the module docstring.

    With ``create_keys`` (the default, for the demo) a missing issuer key is created first and the
    result says so; the `certify` command passes ``create_keys=False`` and asks for `autograder keys`.
    """
    curriculum = load_curriculum(course_root)
    root = curriculum.root
    url = list_url(curriculum)  # before anything is created: no credential without a list address
    result = CertifyResult(directory=certificate_dir(root))
    if not private_key_path(root).exists() and create_keys:
        create_issuer_key(root)
        result.key_created = True
    key = load_private_key(root)
    issuer = publish_issuer_profile(root, key)
    cohort = load_cohort(root, outcomes=outcomes)
    result.learners = len(cohort.students)
    ledger = load_ledger(root)
    run = _Issuing(curriculum=curriculum, url=url, issuer=issuer, key=key, now=now or utc_now(),
                   valid_days=valid_days, ledger=ledger, revocations=load_revocations(root),
                   used=used_status_indexes(ledger), result=result)
    _, written = publish(root, url=url, issuer=issuer, private_key=key, revocations=run.revocations, now=run.now)
    result.status_list_written = url if written else ""
    for track in curriculum.tracks:
        _certify_track(run, cohort, track)
    write_ledger(root, ledger)
    for track_id in {entry["track"] for entry in result.issued}:  # once per folder, not per certificate
        write_verify_page(certificate_dir(root) / track_id, issuer)  # for whoever is sent the folder
    return result


@dataclass
class _Issuing:
    """What one certify run issues with and records into: the issuer, the ledger, the positions taken."""

    curriculum: Curriculum
    url: str                      # the status list's address
    issuer: dict
    key: object                   # the issuer's private key
    now: datetime
    valid_days: int | None
    ledger: list[dict]
    revocations: list[dict]
    used: set[int]                # status-list positions already handed out
    result: CertifyResult

    def current_entry(self, student: str, track_id: str) -> dict | None:
        return next((e for e in self.ledger if e["student"] == student and e["track"] == track_id
                     and e["status"] == "current"), None)


def _certify_track(run: _Issuing, cohort: Cohort, track: Track) -> None:
    """Decide each learner of the cohort for ``track``; a track that cannot be earned yet issues nothing."""
    unavailable = track_unavailable(run.curriculum, track)
    if unavailable:
        run.result.unavailable[track.id] = unavailable
    criteria = criteria_text(run.curriculum, track)
    for student in cohort.students["student"]:
        current = run.current_entry(student, track.id)
        if unavailable:
            if current:
                run.result.dropped.append((current, ["the track now lists labs that are not written yet"]))
            continue
        _certify_learner(run, decide(cohort, track, student), current, criteria)


def _certify_learner(run: _Issuing, decision: Decision, current: dict | None, criteria: str) -> None:
    """Issue, keep, hold back or flag one learner's certificate for one track, as ``decision`` says."""
    result = run.result
    if not decision.met:
        if current and not find_revocation(run.revocations, current["id"]):
            result.dropped.append((current, decision.reasons))
        else:
            result.not_met.append(decision)
        return
    digest = fingerprint(decision, criteria)
    if current:
        revoked = find_revocation(run.revocations, current["id"])
        if revoked:
            result.held_back.append((current, revoked.get("reason", "no reason given")))
            return
        if current["fingerprint"] == digest:
            result.unchanged.append(current)
            return
    entry = _issue(run, decision, criteria, digest, status_entry(run.url, pick_index(run.used)))
    run.used.add(entry["status_index"])
    if current:
        current["status"] = "superseded"
        current["superseded_by"] = entry["id"]
        entry["replaces"] = current["id"]
    run.ledger.append(entry)
    result.issued.append(entry)


def _issue(run: _Issuing, decision: Decision, criteria: str, digest: str, status: dict) -> dict:
    """Sign, check and write one certificate (credential JSON and its page); its ledger entry."""
    track, curriculum, now, root = decision.track, run.curriculum, run.now, run.curriculum.root
    valid_until = now + timedelta(days=run.valid_days) if run.valid_days else None
    credential = build_credential(
        issuer=run.issuer, course_id=curriculum.course_id, track_id=track.id, track_title=track.title,
        track_description=track.description, criteria=criteria, labs=decision.labs,
        learner_id=decision.student, learner_name=decision.name, valid_from=now, valid_until=valid_until,
    )
    credential["credentialStatus"] = status  # signed with the rest: its position cannot be swapped
    signed = sign(credential, run.key, created=now, proof_set=True)  # a set of one: the form the OB schema wants
    problems = validate_ob_schema(signed)
    if problems:  # a defect of this code, not of the learner: issue nothing rather than a non-conformant file
        raise CurriculumError(f"The credential for {decision.student} ({track.id}) breaks the Open Badges 3.0 "
                              f"schema, so nothing was issued for them: {'; '.join(problems[:3])}. Please report it.")
    code = verification_code(signed)
    folder = certificate_dir(root) / track.id
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{_safe(decision.student)}-{code}"
    credential_path, page_path = folder / f"{stem}.json", folder / f"{stem}.html"
    write_json(credential_path, signed)
    page = certificate_page(signed, code, curriculum, credential_path.name, track_id=track.id)
    atomic_write_bytes(page_path, page.encode("utf-8"))
    return {
        "id": signed["id"], "code": code, "student": decision.student, "name": decision.name,
        "track": track.id, "track_title": track.title,
        "labs": {lab["id"]: percent(lab["share"]) for lab in decision.labs},
        "valid_from": signed["validFrom"], "valid_until": signed.get("validUntil"),
        "file": str(credential_path.relative_to(root)), "page": str(page_path.relative_to(root)),
        "fingerprint": digest, "status": "current",
        "status_index": int(status["statusListIndex"]), "status_list": status["statusListCredential"],
    }


# --- The certificate page ----------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} — {name}</title>
<style>
  @page {{ size: A4 landscape; margin: 12mm; }}
  body {{ font-family: Georgia, 'Times New Roman', serif; color: #1d2733; background: #eef1f4; margin: 0; }}
  .sheet {{ background: #fff; max-width: 960px; margin: 24px auto; padding: 48px 64px; border: 10px double #1f4e79;
           box-sizing: border-box; }}
  .course {{ font-size: 16px; letter-spacing: .2em; text-transform: uppercase; color: #1f4e79; text-align: center; }}
  h1 {{ font-size: 40px; margin: 18px 0 6px; text-align: center; }}
  .lead {{ text-align: center; font-size: 18px; margin: 0; }}
  .name {{ font-size: 36px; text-align: center; margin: 14px 0; border-bottom: 1px solid #9aa7b4; padding-bottom: 8px; }}
  .track {{ text-align: center; font-size: 18px; }}
  table {{ border-collapse: collapse; margin: 20px auto; font-family: Helvetica, Arial, sans-serif; font-size: 13px; }}
  th, td {{ padding: 4px 12px; border-bottom: 1px solid #d5dbe1; text-align: left; }}
  td.num {{ text-align: right; }}
  .meta {{ display: flex; justify-content: space-between; align-items: flex-end; gap: 16px;
          font-family: Helvetica, Arial, sans-serif; font-size: 13px; margin-top: 24px; }}
  .verify {{ display: flex; align-items: flex-end; gap: 12px; text-align: right; }}
  .verify svg {{ display: block; }}
  .code {{ font-family: 'Courier New', monospace; font-size: 20px; font-weight: bold; letter-spacing: .08em; }}
  .small {{ font-family: Helvetica, Arial, sans-serif; font-size: 11px; color: #55606b; word-break: break-all; }}
  .small a {{ color: #1f4e79; }}
  @media print {{ body {{ background: #fff; }} .sheet {{ margin: 0; max-width: none; }} .noprint {{ display: none; }} }}
</style>
</head>
<body>
<div class="sheet">
  <div class="course">{course}</div>
  <h1>Certificate of achievement</h1>
  <p class="lead">This certifies that</p>
  <div class="name">{name}</div>
  <p class="track">has earned the <strong>{title}</strong> certificate on <strong>{date}</strong>{until}.</p>
  <table>
    <tr><th>Lab covered</th><th>Share of points</th><th>Required</th></tr>
    {rows}
  </table>
  <div class="meta">
    <div>Issued by <strong>{issuer}</strong><br><span class="small">{issuer_id}</span></div>
    <div class="verify"><div>Verification code<br><span class="code">{code}</span></div>{qr}</div>
  </div>
  {links}
  <p class="small">This page shows a signed Open Badges 3.0 credential ({credential_file}, credential id {credential_id}).
  To check it: <code>autograder verify {credential_file}</code>, or <code>autograder verify --code {code}</code>
  in the course folder. A changed name, result, track or date makes the check fail.</p>
  <p class="small noprint">Print this page (or save it as PDF) from your browser.</p>
</div>
</body>
</html>
"""

LINKS = """<p class="small" id="verify-links">Verify it yourself: scan the QR code (it opens the verification
  page and checks this credential), or open <a href="{page_url}">{page_url}</a> and drop the credential file
  <a href="{credential_url}">{credential_url}</a> on it; the page also works saved to disk, offline.</p>"""

NO_LINKS = """<p class="small" id="verify-links">Verify it yourself, offline: open <code>verify.html</code> (next to
  this page, or from the issuer) in a browser and drop the credential file {credential_file} on it.</p>"""


def verify_links(curriculum: Curriculum, track_id: str, credential_file: str) -> tuple[str, str, str] | None:
    """(verification page, credential file, one-scan link) where the instructor publishes them; None if unset.

    The certificates/ folder is published at ``course.publish_url`` (curriculum.yml), so the page is
    ``<publish_url>verify.html`` and a credential ``<publish_url><track>/<file>.json``. The one-scan
    link, for the QR code, is ``verify.html#credential=<track>/<file>.json``: the page fetches that
    credential from its own site and checks it (the fragment is never sent to the server).
    """
    base = curriculum.publish_url or ""
    if not base.startswith(("https://", "http://")):
        return None
    base = base if base.endswith("/") else base + "/"
    relative = quote(track_id, safe="") + "/" + quote(credential_file, safe="")
    return base + "verify.html", base + relative, base + "verify.html#credential=" + relative


def qr_svg(url: str) -> str:
    """The URL as an inline SVG QR code (segno; error correction M survives a crease or a smudge)."""
    return segno.make(url, error="m").svg_inline(scale=3, border=2, dark="#1d2733",
                                                 title="QR code: check this certificate")


def certificate_page(signed: dict, code: str, curriculum: Curriculum, credential_file: str,
                     track_id: str | None = None) -> str:
    """The printable page. ``track_id`` names the folder the credential is published in (default: the
    achievement's first tag, which :func:`build_credential` sets to the track id)."""
    name, _ = learner(signed)
    achievement = signed["credentialSubject"]["achievement"]
    required = {d["id"]: d.get("requiredValue", "") for d in achievement.get("resultDescription", [])}
    results = {r["resultDescription"]: r["value"] for r in signed["credentialSubject"].get("result", [])}
    rows = []
    for description in achievement.get("resultDescription", []):
        rows.append(
            f"<tr><td>{html.escape(description['name'].split(' (')[0])}</td>"
            f"<td class=\"num\">{html.escape(results.get(description['id'], ''))} %</td>"
            f"<td class=\"num\">{html.escape(required.get(description['id'], ''))} %</td></tr>"
        )
    until = signed.get("validUntil")
    track_id = track_id or (achievement.get("tag") or [""])[0]
    urls = verify_links(curriculum, track_id, credential_file)
    if urls:
        page_url, credential_url, scan_url = urls
        links = LINKS.format(page_url=html.escape(page_url), credential_url=html.escape(credential_url))
        qr = qr_svg(scan_url)
    else:
        links, qr = NO_LINKS.format(credential_file=html.escape(credential_file)), ""
    return PAGE.format(
        title=html.escape(achievement["name"]), name=html.escape(name), course=html.escape(curriculum.title),
        date=html.escape(_day(signed["validFrom"])),
        until=f" (valid until {html.escape(_day(until))})" if until else "",
        rows="\n    ".join(rows), issuer=html.escape(signed["issuer"]["name"]),
        issuer_id=html.escape(signed["issuer"]["id"]), code=html.escape(code),
        credential_file=html.escape(credential_file), credential_id=html.escape(signed["id"]),
        links=links, qr=qr,
    )


def _day(stamp: str) -> str:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return f"{moment.day} {moment:%B %Y}"


# --- CLI ---------------------------------------------------------------------------------------

def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "certify", help="issue signed certificates to learners who meet a track's rule",
        description="Issue an Open Badges 3.0 credential and a printable page to every learner who meets "
                    "a track's rule. Needs the issuer key (`autograder keys`).",
    )
    parser.add_argument("--valid-days", type=int, default=None,
                        help="certificates expire this many days after issue (default: no expiry)")
    parser.set_defaults(run=run)


def run(args) -> int:
    curriculum = load_curriculum(args.course)
    if not private_key_path(curriculum.root).exists():
        raise IssuerKeyError(
            f"No issuer key at {private_key_path(curriculum.root)}: run `autograder keys` once to create it, "
            "then `autograder certify` again."
        )
    result = certify_cohort(curriculum.root, create_keys=False, valid_days=args.valid_days)
    print(result.summary())
    return 0


__all__ = ["certify_cohort", "CertifyResult", "Decision", "decide", "format_datetime"]
