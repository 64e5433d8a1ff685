"""Check `make demo`'s certificates in the demo's own verify.html (headless Debian Chromium) and with
`autograder verify`, side by side: each valid one, a tampered copy, an expired one (re-signed with a past
validUntil) and a revoked one (`autograder revoke` on a copy of the demo course; demo/ is not changed).

Run from the repository root after `make demo`: .venv/bin/python tools/verify-page/check_demo.py
Screenshots go to build/demo-certificates/.
"""
import copy, glob, json, os, shutil, sys, tempfile
from pathlib import Path
sys.path.insert(0, "tests")
from test_verify_page import Case, _open
from autograder.credentials import openbadge, verify
from autograder.credentials.keys import load_private_key
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

src = Path("demo"); work = Path(tempfile.mkdtemp(prefix="demo-certificates-")) / "course"
shutil.copytree(src, work, ignore=shutil.ignore_patterns("autograded", "submitted", "feedback", "release", "downloads"))
certs = work / "certificates"
page, status = certs / "verify.html", certs / "status-list.json"
out = Path("build/demo-certificates").resolve(); out.mkdir(parents=True, exist_ok=True)
files = {}
for path in sorted(glob.glob(str(certs / "*/*.json"))):
    files[f"valid {Path(path).name}"] = Path(path)
doc = json.loads(files[next(iter(files))].read_text())
tampered = copy.deepcopy(doc); tampered["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
(out / "tampered.json").write_text(json.dumps(tampered)); files["tampered name"] = out / "tampered.json"
expired = {k: v for k, v in doc.items() if k != "proof"}
expired["validFrom"], expired["validUntil"] = "2025-01-01T00:00:00Z", "2025-06-30T00:00:00Z"
expired = openbadge.sign(expired, load_private_key(work), proof_set=True)
(out / "expired.json").write_text(json.dumps(expired)); files["expired"] = out / "expired.json"
revoked_file = Path(sorted(glob.glob(str(certs / "leader/*.json")))[0])
files["revoked " + revoked_file.name] = revoked_file

os.environ["SE_OFFLINE"] = "true"
options = webdriver.ChromeOptions(); options.binary_location = "/usr/bin/chromium"
for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1000,1100",
          f"--user-data-dir={tempfile.mkdtemp()}"):
    options.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
revoked_done = False
for label, path in files.items():
    if label.startswith("revoked") and not revoked_done:
        rec = verify.revoke(work, str(path), "demo: issued by mistake"); revoked_done = True
    state, verdict, reasons = _open(driver, page, Case(path, status, "", ()))
    driver.save_screenshot(str(out / (label.split()[0] + ("-" + path.stem if label.startswith("valid") else "") + ".png")))
    py = verify.verify_file(path, course_root=work)
    print(f"{label:45s} page: {verdict:10s} | {reasons.splitlines()[0] if reasons else ''}")
    print(f"{'':45s} autograder verify: {'VALID' if py.ok else 'INVALID'} {'; '.join(py.reasons)[:150]}")
driver.quit()
