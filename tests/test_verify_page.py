"""The offline verification page, driven in a real headless Chromium (Debian's chromium + chromium-driver).

Each case is a credential (and optionally a status list) made with the project's own Python code,
dropped on ``verify.html`` opened from disk (file://, no network); the verdict the page shows is
compared with the expected text and with what ``autograder.credentials.verify`` decides for the same files.
A screenshot of every case goes to ``build/verify-page/<case>.png`` (git-ignored) for a human look.
The test fails, never skips, when Chromium or its driver is missing.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from autograder.credentials import openbadge, status_list, verify
from autograder.credentials.verify_page import write_verify_page

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "build" / "verify-page"
W3C = Path(__file__).resolve().parent / "data" / "w3c"
LIST_URL = "https://certificates.example.org/ai-certification-labs/status-list.json"
ISSUER_NAME = "AI Certification Labs"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
INDEX, OTHER_INDEX = 4242, 77_001
# A fixed, test-only issuer key, so the credential below (issued by it) is trusted by the page.
KEY_SEED = bytes(range(32))
# A credential as learners hold them from before eddsa-rdfc-2022: made by autograder/credentials/openbadge.py at
# commit 37500d5 (eddsa-jcs-2022, proof with @context) with the key KEY_SEED, issued 2026-11-22.
OLD_JCS_CREDENTIAL = (
    '{"@context":["https://www.w3.org/ns/credentials/v2","https://purl.imsglobal.org/spec/ob/v3p0/context-3.0'
    '.3.json"],"id":"urn:uuid:6f1c2e64-3a57-4b0e-9a61-5c2f8d9e0b13","type":["VerifiableCredential","OpenBadge'
    'Credential"],"name":"AI Practitioner certificate","issuer":{"id":"did:key:z6MkehRgf7yJbgaGfYsdoAsKdBPE3d'
    'j2CYhowQdcjqSJgvVd","type":["Profile"],"name":"AI Certification Labs"},"validFrom":"2026-11-22T15:30:00Z'
    '","credentialSubject":{"type":["AchievementSubject"],"identifier":[{"type":"IdentityObject","identityTyp'
    'e":"name","hashed":false,"identityHash":"Grace Hopper"},{"type":"IdentityObject","identityType":"identif'
    'ier","hashed":false,"identityHash":"s002"}],"achievement":{"id":"urn:uuid:db37cf96-7e11-53d2-ad99-c8a9d3'
    'eda910","type":["Achievement"],"achievementType":"Certificate","name":"AI Practitioner","description":"D'
    'ata, models and checks.","criteria":{"narrative":"At least 70 % on every lab."},"resultDescription":[{"i'
    'd":"urn:uuid:723b71e2-193b-529a-b868-cfb8b52006f8","type":["ResultDescription"],"name":"00: Jupyter and '
    'pandas (share of the lab\'s points, %)","resultType":"Percent","valueMin":"0","valueMax":"100","requiredV'
    'alue":"70"}],"tag":["practitioner","00"]},"result":[{"type":["Result"],"resultDescription":"urn:uuid:723'
    'b71e2-193b-529a-b868-cfb8b52006f8","value":"90","status":"Completed"}]},"proof":{"type":"DataIntegrityPr'
    'oof","cryptosuite":"eddsa-jcs-2022","created":"2026-11-22T15:30:00Z","verificationMethod":"did:key:z6Mke'
    'hRgf7yJbgaGfYsdoAsKdBPE3dj2CYhowQdcjqSJgvVd#z6MkehRgf7yJbgaGfYsdoAsKdBPE3dj2CYhowQdcjqSJgvVd","proofPurp'
    'ose":"assertionMethod","@context":["https://www.w3.org/ns/credentials/v2","https://purl.imsglobal.org/sp'
    'ec/ob/v3p0/context-3.0.3.json"],"proofValue":"zbH7tTGWC6q65DjrjC5HWLWV1HF6JwRNmFtuZEmauoqwAzsJ4gYArVsjBi'
    '66u8FRTgLTtnpLoXWT4x4naJeSKZ6g"}}'
)


@dataclass
class Case:
    credential: Path
    status: Path | None
    state: str            # the page's data-state: valid, unchecked or invalid
    says: tuple[str, ...]  # words the verdict + reasons must contain


def _credential(issuer: dict, *, name: str = "Ada Lovelace", valid_until: datetime | None = None,
                status_index: int | None = INDEX, list_url: str = LIST_URL) -> dict:
    document = openbadge.build_credential(
        issuer=issuer, course_id="ai-certification-labs", track_id="practitioner", track_title="AI Practitioner",
        track_description="Data, models and checks.", criteria="At least 70 % on every lab.",
        labs=[{"id": "00", "title": "Jupyter and pandas", "share": 0.9, "required_share": 0.7},
              {"id": "01", "title": "How data affects results", "share": 0.8, "required_share": 0.7}],
        learner_id="s001", learner_name=name, valid_from=NOW - timedelta(days=30), valid_until=valid_until,
    )
    if status_index is not None:
        document["credentialStatus"] = status_list.status_entry(list_url, status_index)
    return document


def _status_list(issuer: dict, key, revoked: set[int], list_url: str = LIST_URL) -> dict:
    return openbadge.sign(status_list.build_list(list_url, issuer, revoked, NOW - timedelta(days=1)), key,
                            created=NOW - timedelta(days=1), cryptosuite="eddsa-rdfc-2022")


def _write(folder: Path, name: str, document) -> Path:
    path = folder / name
    path.write_text(document if isinstance(document, str) else json.dumps(document, indent=2), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> tuple[Path, dict, dict[str, Case]]:
    """The page (trusting one issuer) and every case's files, made with the real signing code."""
    folder = tmp_path_factory.mktemp("verify-page")
    key, stranger = Ed25519PrivateKey.from_private_bytes(KEY_SEED), Ed25519PrivateKey.generate()
    issuer = openbadge.issuer_profile(key.public_key(), name=ISSUER_NAME)
    other = openbadge.issuer_profile(stranger.public_key(), name=ISSUER_NAME)  # same name, another key
    sign = lambda document, by=key: openbadge.sign(document, by, created=NOW - timedelta(days=30),  # noqa: E731
                                                     cryptosuite="eddsa-rdfc-2022")
    valid = sign(_credential(issuer, name="Ada <img src=x onerror=document.title='owned'> Lovelace"))
    tampered_name = copy.deepcopy(valid)
    tampered_name["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
    tampered_result = copy.deepcopy(valid)
    tampered_result["credentialSubject"]["result"][1]["value"] = "100"
    undefined_field = copy.deepcopy(valid)  # not re-signed: an RDFC verifier without safe mode drops it
    undefined_field["credentialSubject"]["honours"] = "summa cum laude"
    other_key = sign({**_credential(other), "issuer": {"id": other["id"], "type": ["Profile"], "name": ISSUER_NAME}},
                     stranger)
    jcs = json.loads(OLD_JCS_CREDENTIAL)
    assert jcs["issuer"]["id"] == issuer["id"] and jcs["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    clean_list = _write(folder, "status-list.json", _status_list(issuer, key, {OTHER_INDEX}))
    revoked_list = _write(folder, "status-list-revoked.json", _status_list(issuer, key, {INDEX, OTHER_INDEX}))
    forged = json.loads(revoked_list.read_text())  # signed with INDEX revoked; its bits then cleared
    forged["credentialSubject"]["encodedList"] = status_list.encode(status_list.with_bits({OTHER_INDEX}))
    forged_list = _write(folder, "status-list-forged.json", forged)

    unknown_context = sign(_credential(issuer))  # signed, then given a context this package does not pin
    unknown_context["@context"] = [*unknown_context["@context"], "https://example.org/unpinned-context.json"]

    v = lambda name, doc: _write(folder, f"{name}.json", doc)  # noqa: E731
    table = {
        "valid": Case(v("valid", valid), clean_list, "valid", ("VALID", "not revoked")),
        "valid-no-status-list": Case(v("valid", valid), None, "unchecked",
                                     ("VALID signature — revocation NOT checked", "drop the status list file",
                                      LIST_URL)),
        "tampered-name": Case(v("tampered-name", tampered_name), clean_list, "invalid", ("INVALID", "signature")),
        "tampered-result": Case(v("tampered-result", tampered_result), clean_list, "invalid",
                                ("INVALID", "signature")),
        "expired": Case(v("expired", sign(_credential(issuer, valid_until=NOW - timedelta(days=1)))), clean_list,
                        "invalid", ("INVALID", "expired")),
        "revoked": Case(v("revoked", valid), revoked_list, "invalid", ("INVALID", "revoked")),
        "forged-status-list": Case(v("valid", valid), forged_list, "invalid", ("INVALID", "status list",
                                                                                "signature")),
        "other-key": Case(v("other-key", other_key), clean_list, "invalid",
                          ("INVALID", f"not issued by {ISSUER_NAME}")),
        "undefined-field": Case(v("undefined-field", undefined_field), clean_list, "invalid",
                                ("INVALID", "do not define", "honours")),
        "unknown-context": Case(v("unknown-context", unknown_context), clean_list, "invalid",
                                ("INVALID", "https://example.org/unpinned-context.json")),
        "old-jcs": Case(v("old-jcs", jcs), None, "valid", ("VALID",)),
        "not-json": Case(_write(folder, "certificate.html", "<!DOCTYPE html><p>a certificate page</p>"), None,
                         "invalid", ("INVALID", "not JSON")),
    }
    page = write_verify_page(folder / "verify.html", issuer)
    return page, issuer, table


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium with a fresh profile; Selenium Manager never downloads (SE_OFFLINE)."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: the verification page is tested in a real browser. "
                    "Install it with `sudo apt-get install chromium chromium-driver`.")
    os.environ["SE_OFFLINE"] = "true"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1000,1100"):
        options.add_argument(argument)
    profile = tempfile.mkdtemp(prefix="verify-page-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _open(browser, page: Path, case: Case) -> tuple[str, str, str]:
    """Open the page afresh, give it the case's files, and return (state, verdict text, reasons text)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page.as_uri())
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "verdict").get_attribute("data-state") == "ready")
    if case.status is not None:
        browser.find_element(By.ID, "status-file").send_keys(str(case.status))
    browser.find_element(By.ID, "credential-file").send_keys(str(case.credential))
    verdict = browser.find_element(By.ID, "verdict")
    WebDriverWait(browser, 15).until(lambda d: verdict.get_attribute("data-state") in ("valid", "unchecked", "invalid"))
    return verdict.get_attribute("data-state"), verdict.text, browser.find_element(By.ID, "reasons").text


def _python_verdict(issuer: dict, case: Case):
    loader = verify.status_list_loader(list_file=case.status) if case.status else None
    try:
        document = json.loads(case.credential.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        return verify.Verification(source=str(case.credential), reasons=[f"it is not valid JSON ({error})"])
    return verify.verify_credential(document, issuer=issuer, status_lists=loader, source=case.credential.name)


CASES = ["valid", "valid-no-status-list", "tampered-name", "tampered-result", "expired", "revoked",
         "forged-status-list", "other-key", "undefined-field", "unknown-context", "old-jcs", "not-json"]


@pytest.mark.parametrize("name", CASES)
def test_page_verdict_matches_expected_and_python(browser, cases, name):
    page, issuer, table = cases
    case = table[name]
    state, verdict, reasons = _open(browser, page, case)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    (SCREENSHOTS / f"{name}.txt").write_text(f"{verdict}\n{reasons}\n", encoding="utf-8")
    shown = f"{verdict}\n{reasons}"
    assert state == case.state, shown
    for words in case.says:
        assert words in shown, shown
    if case.state == "valid":
        assert verdict == "VALID", shown
    python = _python_verdict(issuer, case)
    if case.state == "unchecked":  # Python fails closed without the list; the page says "NOT checked"
        assert not python.ok and "cannot be checked" in python.describe(), python.describe()
    else:
        assert python.ok == (case.state == "valid"), f"page: {shown}\npython: {python.describe()}"


def test_page_renders_credential_values_as_text_not_markup(browser, cases):
    from selenium.webdriver.common.by import By

    page, _, table = cases
    _open(browser, page, table["valid"])
    details = browser.find_element(By.ID, "details")
    assert "Ada <img src=x onerror=document.title='owned'> Lovelace" in details.text
    assert details.find_elements(By.TAG_NAME, "img") == []
    assert browser.title != "owned"
    assert "AI Practitioner" in details.text and "80 % (required 70 %)" in details.text


def test_page_loads_offline_with_everything_inlined(browser, cases):
    """No request leaves the page: every resource the browser fetched is the page itself."""
    page, _, table = cases
    _open(browser, page, table["valid"])
    urls = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert urls == []
    text = page.read_text(encoding="utf-8")
    assert "<script src" not in text and "<link" not in text


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The published certificates/ folder served over http on 127.0.0.1, as the instructor's site would be."""
    folder = tmp_path_factory.mktemp("site")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    key = Ed25519PrivateKey.generate()
    issuer = openbadge.issuer_profile(key.public_key(), name=ISSUER_NAME)
    url = base + "status-list.json"
    _write(folder, "status-list.json", _status_list(issuer, key, {OTHER_INDEX}, list_url=url))
    (folder / "practitioner").mkdir()
    for name, index in (("ada", INDEX), ("bob", OTHER_INDEX)):
        document = openbadge.sign(_credential(issuer, name=name, status_index=index, list_url=url), key,
                                    created=NOW - timedelta(days=30), cryptosuite="eddsa-rdfc-2022")
        _write(folder / "practitioner", f"{name}.json", document)
    write_verify_page(folder, issuer)
    yield base, folder, issuer
    server.shutdown()


@pytest.mark.parametrize("name, link, state, says", [
    ("valid", "verify.html#credential=practitioner/ada.json", "valid", ("VALID", "revocation checked: not revoked")),
    ("revoked", "verify.html#credential=practitioner/bob.json", "invalid", ("INVALID", "revoked")),
    ("other-site", "verify.html#credential=http%3A%2F%2Flocalhost%3A1%2Fx.json", "invalid",
     ("INVALID", "another site")),
])
def test_served_page_checks_the_qr_link_credential_and_fetches_its_status_list(browser, site, name, link, state,
                                                                               says):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, folder, issuer = site
    browser.get("about:blank")
    browser.get(base + link)
    verdict = browser.find_element(By.ID, "verdict")
    WebDriverWait(browser, 15).until(lambda d: verdict.get_attribute("data-state") in ("valid", "unchecked", "invalid"))
    shown = f"{verdict.text}\n{browser.find_element(By.ID, 'reasons').text}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"served-link-{name}.png"))
    (SCREENSHOTS / f"served-link-{name}.txt").write_text(shown + "\n", encoding="utf-8")
    assert verdict.get_attribute("data-state") == state, shown
    for words in says:
        assert words in shown, shown
    if "practitioner/" in link:
        python = _python_verdict(issuer, Case(folder / link.split("=")[1], folder / "status-list.json", state, says))
        assert python.ok == (state == "valid"), python.describe()


def test_written_page_inlines_issuer_as_inert_json_and_escaped_text(tmp_path):
    """An issuer name cannot close the <script> that carries it, nor become markup in the heading."""
    key = Ed25519PrivateKey.generate()
    issuer = openbadge.issuer_profile(key.public_key(), name="Labs </script><script>alert(1)</script> & Co")
    path = write_verify_page(tmp_path, issuer)
    assert path == tmp_path / "verify.html"
    text = path.read_text(encoding="utf-8")
    assert text.count("<script") == 3 and text.count("</script") == 3  # issuer, contexts, the bundle
    assert "Labs &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in text
    inline = text.split('<script type="application/json" id="trusted-issuer">')[1].split("</script>")[0]
    assert json.loads(inline) == {"id": issuer["id"], "name": issuer["name"]}


def test_writing_page_for_issuer_without_did_key_names_the_fix(tmp_path):
    from autograder.credentials.verify_page import VerifyPageError

    with pytest.raises(VerifyPageError, match="autograder keys"):
        write_verify_page(tmp_path, {"id": "https://example.org/issuer", "name": "X"})


def test_a_certified_learners_credential_passes_the_page_until_revoked(browser, tmp_path_factory):
    """End to end: `certify` on the sample cohort, the page written for its issuer, then `revoke`.

    Python's verifier is given only the published files (issuer.json, status-list.json), as an
    employer would have them, so both verifiers judge the same evidence.
    """
    from autograder.credentials.certify import certify_cohort
    from cohort_builder import cohort_copy

    root = cohort_copy(tmp_path_factory, tmp_path_factory.mktemp("certified") / "course")
    entry = next(e for e in certify_cohort(root).issued if e["student"] == "ada")
    published = root / "certificates"
    issuer = json.loads((published / "issuer.json").read_text(encoding="utf-8"))
    page = write_verify_page(published, issuer)
    case = Case(root / entry["file"], published / "status-list.json", "valid", ("VALID",))
    verdicts = []
    for step in ("issued", "revoked"):
        if step == "revoked":
            verify.revoke(root, entry["code"], "issued by mistake")
        state, verdict, reasons = _open(browser, page, case)
        browser.save_screenshot(str(SCREENSHOTS / f"certified-{step}.png"))
        (SCREENSHOTS / f"certified-{step}.txt").write_text(f"{verdict}\n{reasons}\n", encoding="utf-8")
        python = verify.verify_file(case.credential, issuer_path=published / "issuer.json",
                                    status_list_path=case.status)
        verdicts.append((state, verdict, python.ok))
        assert ("marks index" if step == "revoked" else "not revoked") in reasons, reasons
    assert verdicts == [("valid", "VALID", True), ("invalid", "INVALID", False)]


@pytest.mark.parametrize("vector", ["eddsa-rdfc-2022/signedDataInt.json", "eddsa-rdfc-2022/employ/signedDataInt.json",
                                    "eddsa-jcs-2022/signedJCS.json"])
def test_page_checks_the_w3c_signed_test_vectors_and_rejects_them_changed(browser, cases, vector):
    """The bundle's proof check on W3C's own signed vectors (with the vectors' test-only contexts)."""
    page, _, _ = cases
    document = json.loads((W3C / vector).read_text(encoding="utf-8"))
    document = dict(reversed(document.items()))  # same credential, other key order: canonicalisation must undo it
    public = "did:key:" + json.loads((W3C / "keyPair.json").read_text())["publicKeyMultibase"]
    contexts = {"https://www.w3.org/ns/credentials/v2":
                    json.loads((ROOT / "autograder/credentials/contexts/credentials-v2.json").read_text()),
                "https://www.w3.org/ns/credentials/examples/v2":
                    json.loads((W3C / "contexts/credentials-examples-v2.json").read_text()),
                "https://w3id.org/citizenship/v4rc1": json.loads((W3C / "contexts/citizenship-v4rc1.json").read_text())}
    changed = copy.deepcopy(document)
    changed["validFrom" if "validFrom" in changed else "issuer"] = "2099-01-01T00:00:00Z"
    browser.get(page.as_uri())
    # Passed as JSON text: ChromeDriver would hand objects over with their keys sorted.
    check = """const [texts, key, contexts, done] = arguments;
        Promise.all(texts.map((t) => CertVerify.checkProof(JSON.parse(t), CertVerify.didKeyBytes(key), contexts)))
          .then(done, (error) => done(['ERROR ' + error.message]));"""
    browser.set_script_timeout(15)
    original, tampered = browser.execute_async_script(check, [json.dumps(document), json.dumps(changed)], public,
                                                      contexts)
    assert original is None
    assert "signature does not match" in tampered


def test_page_checks_a_signature_that_starts_with_a_zero_byte_given_as_a_proof_set(browser, cases, monkeypatch):
    """One signature in 256 starts with a zero byte ('z1...' in base58btc), and `certify` writes
    ``proof`` as a set of one (the OB 3.0 schema's form): the page must verify both."""
    from autograder.credentials import data_integrity, jsonld

    page, _, _ = cases
    pinned = {"https://www.w3.org/ns/credentials/examples/v2": W3C / "contexts" / "credentials-examples-v2.json"}
    monkeypatch.setattr(jsonld, "DEFAULT_LOADER", jsonld.PinnedLoader(pinned))
    pair = json.loads((W3C / "keyPair.json").read_text())
    key = openbadge.private_key_from_multibase(pair["privateKeyMultibase"])
    unsigned = json.loads((W3C / "unsigned.json").read_text(encoding="utf-8"))
    method = f"did:key:{pair['publicKeyMultibase']}#{pair['publicKeyMultibase']}"
    proof = data_integrity.create_proof(unsigned, key, verification_method=method,
                                        created=datetime(2023, 2, 24, 23, 36, 43, tzinfo=timezone.utc))
    assert proof["proofValue"].startswith("z1")  # the case this test is about
    signed = {**unsigned, "proof": [proof]}
    changed = {**signed, "name": "Alumni Credential (changed)"}
    contexts = {"https://www.w3.org/ns/credentials/v2":
                    json.loads((ROOT / "autograder/credentials/contexts/credentials-v2.json").read_text()),
                "https://www.w3.org/ns/credentials/examples/v2": json.loads(pinned[
                    "https://www.w3.org/ns/credentials/examples/v2"].read_text())}
    browser.get(page.as_uri())
    check = """const [texts, key, contexts, done] = arguments;
        Promise.all(texts.map((t) => CertVerify.checkProof(JSON.parse(t), CertVerify.didKeyBytes(key), contexts)))
          .then(done, (error) => done(['ERROR ' + error.message]));"""
    browser.set_script_timeout(15)
    original, tampered = browser.execute_async_script(check, [json.dumps(signed), json.dumps(changed)],
                                                      "did:key:" + pair["publicKeyMultibase"], contexts)
    assert original is None
    assert "signature does not match" in tampered
