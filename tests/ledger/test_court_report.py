"""Acceptance (issue 10): the court proof file of an item is checked offline with only the lab's
public key; a genuine file is accepted, a file with any byte changed is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ballistics.evidence.models import CustodyEvent
from ballistics.extensions import db
from ballistics.ledger import court
from ballistics.ledger.keys import load_public_keys
from tests.support.services import REPO
from tests.support.web import Api, Browser


@pytest.fixture
def proof(app, client, lab, witness, tmp_path):
    """(file bytes, path, key document path) of a witnessed item with three events."""
    witness.trust(lab.lab.id)
    api = Api(client, lab, "tech")
    item = api.receive(api.new_case()["id"], kind="firearm", serial_number="ÄB-12 ✓")
    api.post(f"/items/{item['id']}/transfer", {"to_user_id": lab.id("examiner"),
                                               "reason": "für Untersuchung"})
    Api(client, lab, "examiner").post(f"/items/{item['id']}/seal", {"seal_number": "S-1"})
    browser = Browser(app, lab, "tech")
    response = browser.client.get(f"/items/{item['id']}/report/proof.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    keys = browser.client.get("/ledger/public-keys.json")
    assert keys.status_code == 200 and "skey" not in keys.text
    path, keys_path = tmp_path / "proof.json", tmp_path / "lab-keys.json"
    path.write_bytes(response.data)
    keys_path.write_bytes(keys.data)
    return response.data, path, keys_path, item, browser


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["ledger", "verify-report", *map(str, args)])


def test_the_report_and_its_file_state_a_witnessed_verification(app, proof):
    data, _path, keys_path, item, browser = proof
    body = json.loads(data)["body"]
    assert [e["fields"]["kind"] for e in body["events"]] == ["received", "transferred", "sealed"]
    events = db.session.query(CustodyEvent).filter_by(item_id=item["id"]).order_by(
        CustodyEvent.seq).all()
    assert [e["hash"] for e in body["events"]] == [e.hash for e in events]
    check = court.verify_document(data, load_public_keys(json.loads(keys_path.read_text())))
    assert check.ok and check.events == 3, check.text()
    assert [name for name, _ in check.witnessed] == ["witness.test/w1"]
    page = browser.get(f"/items/{item['id']}/report")
    assert 'data-ledger="witnessed"' in page
    assert "Chain verified and witnessed (3 events)" in page
    assert "cosigned by the independent witness witness.test/w1" in page
    assert "No event has been altered, removed or reordered since that witness" in page


def test_verify_report_accepts_the_genuine_file_with_the_labs_public_key(app, proof):
    _data, path, keys_path, _item, _browser = proof
    result = _cli(app, path, "--lab-keys", keys_path)
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("VERIFIED")
    assert "cosigned by witness.test/w1" in result.output
    assert "3 events of item" in result.output and "inclusion proofs" in result.output
    # Without a pinned key the command asks for one; with a stranger's key it fails.
    refused = _cli(app, path)
    assert refused.exit_code != 0 and "pin the lab's public key" in refused.output
    stranger = {"format": "ballistics.ledger.public-keys/v1", "name": "x", "keys": [
        {"vkey": json.loads(keys_path.read_text())["keys"][0]["vkey"].rsplit("+", 1)[0]
         + "+AQ" + "A" * 42 + "=", "valid_from": "2020-01-01T00:00:00Z", "valid_until": None}]}
    (path.parent / "stranger.json").write_text(json.dumps(stranger))
    wrong = _cli(app, path, "--lab-keys", path.parent / "stranger.json")
    assert wrong.exit_code != 0
    embedded = _cli(app, path, "--trust-embedded-keys")
    assert embedded.exit_code == 0 and "taken from the file itself" in embedded.output


def test_any_changed_byte_is_refused(app, proof):
    data, path, keys_path, _item, _browser = proof
    keys = load_public_keys(json.loads(keys_path.read_text()))
    assert court.verify_document(data, keys).ok
    accepted = [i for i in range(len(data))
                if court.verify_document(data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:],
                                         keys).ok]
    assert accepted == [], f"bytes {accepted[:5]} could be changed undetected"
    # Through the command: one changed letter of the recorded reason.
    at = data.index("für Untersuchung".encode())
    changed = path.parent / "changed.json"
    changed.write_bytes(data[:at] + b"F" + data[at + 1:])
    result = _cli(app, changed, "--lab-keys", keys_path)
    assert result.exit_code == 1 and "FAILED" in result.output


def test_verify_report_runs_offline_in_a_process_of_its_own(app, proof, tmp_path):
    """No database, no network: only the file and the lab's public key document; the flask
    command, and the stand-alone module a court can run without the application."""
    data, path, keys_path, _item, _browser = proof
    env = {**os.environ, "PYTHONPATH": str(REPO), "INSTANCE_PATH": str(tmp_path / "nowhere"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'absent.sqlite'}"}
    changed = tmp_path / "changed.json"
    changed.write_bytes(data.replace(b'"S-1"', b'"S-2"'))
    standalone = [sys.executable, "-m", "ballistics.ledger.court"]
    for target, expect in ((path, 0), (changed, 1)):
        done = subprocess.run([*standalone, str(target), "--lab-keys", str(keys_path)],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == expect, (done.stdout, done.stderr)
        assert ("VERIFIED" if expect == 0 else "FAILED") in done.stdout
    if db.engine.dialect.name != "sqlite":
        return  # the file is the same whatever the lab's database; one run of flask suffices
    flask = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "ledger",
                            "verify-report", str(path), "--lab-keys", str(keys_path)], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=120)
    assert flask.returncode == 0 and "VERIFIED" in flask.stdout, flask.stderr
    assert not (tmp_path / "absent.sqlite").exists()


def test_a_single_event_is_counted_as_one(app, client, lab, witness):
    """An item just received has one event: the check says "1 event", not "1 events"."""
    witness.trust(lab.lab.id)
    api = Api(client, lab, "tech")
    item = api.receive(api.new_case()["id"], kind="cartridge_case")
    browser = Browser(app, lab, "tech")
    data = browser.client.get(f"/items/{item['id']}/report/proof.json").data
    keys = load_public_keys(browser.client.get("/ledger/public-keys.json").get_json())
    check = court.verify_document(data, keys)
    assert check.ok and check.events == 1, check.text()
    assert f"1 event of item {item['barcode']}: it matches its hash" in check.text()
    assert "the event is included in the checkpoint (RFC 9162 inclusion proof at position" \
        in check.text()
    assert "1 events" not in check.text()


def test_a_spanish_report_says_why_its_verification_lines_are_english(app, proof):
    """The check lines are the offline verifier's output, word for word (a court compares them
    with its own run), so they stay English on a Spanish report; a caption above them says
    so, in Spanish, on the page and in the PDF."""
    from tests.evidence.test_court_pdf import _flat, _pdf

    _data, _path, _keys, item, browser = proof
    caption = ("Las líneas siguientes son la salida del propio verificador, en inglés tal como "
               "la imprime la orden")
    browser.client.set_cookie("lang", "es")
    page = browser.get(f"/items/{item['id']}/report")
    line = "canonical JSON in the expected format"  # the verifier's first line, English
    assert caption in page and line in page
    assert page.index(caption) < page.index(line)
    _, pages, _ = _pdf(browser, item["id"])
    text = _flat(" ".join(pages))
    assert caption in text and line in text
    assert text.index(caption) < text.index(line)
