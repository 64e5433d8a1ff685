"""The printable certificate page: QR code and links to the published verification page and credential.

segno writes the QR code but cannot read one back, so the tests check that the inline SVG on the
page is exactly segno's code for the verification page's URL, that the links are right, and that
every value (from curriculum.yml or the credential) is escaped.
"""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from autograder.credentials import openbadge
from autograder.credentials.certify import certificate_page, qr_svg
from autograder.curriculum import load_curriculum

ROOT = Path(__file__).resolve().parents[1]
BASE = "https://certificates.example.org/ai-certification-labs/"
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def signed() -> dict:
    key = Ed25519PrivateKey.generate()
    issuer = openbadge.issuer_profile(key.public_key(), name="AI Certification Labs")
    credential = openbadge.build_credential(
        issuer=issuer, course_id="ai-certification-labs", track_id="practitioner",
        track_title='AI <Practitioner> & "friends"', track_description="d", criteria="c",
        labs=[{"id": "00", "title": "Jupyter <b>and</b> pandas", "share": 0.9, "required_share": 0.7}],
        learner_id="s001", learner_name="Ada <script>alert(1)</script> Lovelace", valid_from=NOW,
    )
    return openbadge.sign(credential, key, created=NOW)


def _curriculum(publish_url):
    return dataclasses.replace(load_curriculum(ROOT), publish_url=publish_url)


def test_page_links_the_published_verification_page_and_credential(signed):
    page = certificate_page(signed, "ABCD-EFGH-JKLM", _curriculum(BASE), "s001-ABCD-EFGH-JKLM.json")
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs == [f"{BASE}verify.html", f"{BASE}practitioner/s001-ABCD-EFGH-JKLM.json"]
    assert "autograder verify s001-ABCD-EFGH-JKLM.json" in page
    assert "autograder verify --code ABCD-EFGH-JKLM" in page
    assert '<span class="code">ABCD-EFGH-JKLM</span>' in page


def test_page_qr_svg_is_segnos_code_for_the_one_scan_verification_link(signed):
    page = certificate_page(signed, "ABCD-EFGH-JKLM", _curriculum(BASE), "s001-ABCD-EFGH-JKLM.json")
    svg = qr_svg(f"{BASE}verify.html#credential=practitioner/s001-ABCD-EFGH-JKLM.json")
    assert svg.startswith("<svg") and svg in page
    assert page.count("<svg") == 1
    # Another URL is another code: the SVG on the page pins this exact link.
    assert qr_svg(f"{BASE}verify.html") not in page


def test_page_escapes_learner_track_lab_and_file_values(signed):
    page = certificate_page(signed, "ABCD-EFGH-JKLM", _curriculum(BASE), 'x"><script>y.json',
                            track_id="track/<b>")
    assert "<script>" not in page
    assert html.escape("Ada <script>alert(1)</script> Lovelace") in page
    assert html.escape('AI <Practitioner> & "friends"') in page
    assert html.escape("00: Jupyter <b>and</b> pandas") in page
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs[1] == f"{BASE}track%2F%3Cb%3E/x%22%3E%3Cscript%3Ey.json"


def test_page_without_publish_url_has_no_qr_and_no_links(signed):
    page = certificate_page(signed, "ABCD-EFGH-JKLM", _curriculum(None), "s001-ABCD-EFGH-JKLM.json")
    assert "<svg" not in page and "href=" not in page
    assert "open <code>verify.html</code>" in page
    assert "autograder verify --code ABCD-EFGH-JKLM" in page
