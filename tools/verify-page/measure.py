"""Measure verify.html: size, load time (Navigation Timing) and time to a verdict, in headless Chromium.

Run from the repository root: .venv/bin/python tools/verify-page/measure.py [runs]   (default 10)
"""
import json, os, statistics, sys, tempfile, time
from datetime import datetime, timedelta, timezone
from pathlib import Path
os.environ["SE_OFFLINE"] = "true"
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from autograder.credentials import openbadge, status_list
from autograder.credentials.verify_page import write_verify_page

key = Ed25519PrivateKey.generate()
issuer = openbadge.issuer_profile(key.public_key(), name="AI Certification Labs")
now = datetime.now(timezone.utc).replace(microsecond=0)
url = "https://certificates.example.org/ai-certification-labs/status-list.json"
labs = [{"id": f"{i:02}", "title": f"Lab {i}", "share": 0.9, "required_share": 0.7} for i in range(10)]
doc = openbadge.build_credential(issuer=issuer, course_id="x", track_id="t", track_title="T", track_description="d",
    criteria="c", labs=labs, learner_id="s", learner_name="n", valid_from=now - timedelta(days=1))
doc["credentialStatus"] = status_list.status_entry(url, 42)
d = Path(tempfile.mkdtemp())
(d / "c.json").write_text(json.dumps(openbadge.sign(doc, key, created=now)))
(d / "s.json").write_text(json.dumps(openbadge.sign(status_list.build_list(url, issuer, set(), now), key, created=now)))
page = write_verify_page(d, issuer)
print("verify.html bytes", page.stat().st_size)
o = webdriver.ChromeOptions(); o.binary_location = "/usr/bin/chromium"
for a in "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync".split():
    o.add_argument(a)
o.add_argument("--user-data-dir=" + tempfile.mkdtemp())
drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
loads, checks = [], []
try:
    for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 10):
        drv.get("about:blank"); drv.get(page.as_uri())
        loads.append(drv.execute_script("const n=performance.getEntriesByType('navigation')[0]; return n.loadEventEnd;"))
        drv.find_element(By.ID, "status-file").send_keys(str(d / "s.json"))
        drv.find_element(By.ID, "credential-file").send_keys(str(d / "c.json"))
        v = drv.find_element(By.ID, "verdict")
        WebDriverWait(drv, 10).until(lambda x: v.get_attribute("data-state") in ("valid", "invalid", "unchecked"))
        assert v.text == "VALID", v.text
        checks.append(int(v.get_attribute("data-ms")))
finally:
    drv.quit()
print("load (ms, loadEventEnd)  median %.0f  min %.0f  max %.0f" % (statistics.median(loads), min(loads), max(loads)))
print("verdict (ms, credential + status list, eddsa-rdfc-2022, 10 labs)  median %d  min %d  max %d  first %d" % (statistics.median(checks), min(checks), max(checks), checks[0]))
