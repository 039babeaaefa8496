"""The comparison flow in a real browser with a real worker: upload a scan on an item page,
watch its status turn to done, search, open the candidate list and the viewer, overlay the
images, mark the top candidate as a potential lead."""

from __future__ import annotations

from playwright.sync_api import expect

from ballistics.extensions import db
from tests.comparisons.helpers import upload, wait_for, x3p_bytes
from tests.support.browser import login, screenshot
from tests.support.labs import make_lab
from tests.support.web import Api
from tests.workerproc import worker_process

#: (firearm, firing) of the references already in the lab; the page uploads firing 2 of gun 0
REFERENCES = [(0, 0), (0, 1), (1, 0)]


def _preload(pg_app) -> tuple:
    with pg_app.app_context():
        kit = make_lab()
        client = pg_app.test_client()
        tech = Api(client, kit, "tech")
        refs = {}
        for gun, shot in REFERENCES:
            item = tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")
            response = upload(client, kit.headers("examiner"), item["id"], x3p_bytes(gun, shot))
            assert response.status_code == 201, response.get_json()
            refs[(gun, shot)] = (item, response.get_json())
        target = tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")
        examiner = kit.users["examiner"].username
        db.session.remove()
    return kit, examiner, refs, target


def test_upload_search_view_and_mark_a_lead(pg_app, live_server, page, tmp_path):
    kit, examiner, refs, target = _preload(pg_app)
    scan_file = tmp_path / "KCP-117-cc1.x3p"
    scan_file.write_bytes(x3p_bytes(0, 2))
    with worker_process(pg_app, name="browser", concurrency=2):
        with pg_app.app_context():
            api = Api(pg_app.test_client(), kit, "examiner")
            for _, scan in refs.values():
                wait_for(lambda s=scan: api.get(f"/scans/{s['id']}"),
                         lambda v: v["status"] == "done", timeout=180)
            db.session.remove()

        login(page, live_server, examiner)
        page.goto(f"{live_server}/items/{target['id']}")
        form = page.locator("form[action$='/scans']")
        form.locator("input[name=file]").set_input_files(str(scan_file))
        form.locator("select[name=firing_pin_shape]").select_option("circular")
        form.locator("select[name=breech_face_class]").select_option("granular")
        form.locator("button[type=submit]").click()
        assert "uploaded" in page.locator(".flash").first.inner_text()
        status = page.locator("table.scans tr[data-scan] [data-status]").first
        assert status.inner_text() in ("queued", "running", "done")
        screenshot(page, "comparisons-1-uploaded")
        # The status changes on the page by itself (poll.js), with no reload.
        expect(status).to_have_text("done", timeout=120_000)
        assert page.locator(".flash").count() == 1  # still the same page load
        page.reload()  # now with the processed surface's thumbnail and the automatic search
        assert page.locator("table.scans img.thumb").count() == 1
        screenshot(page, "comparisons-2-done")

        page.click("text=Search the lab's references")
        assert "started" in page.locator(".flash").first.inner_text()
        assert "not an identification" in page.locator("[data-testid=validation-note]").inner_text()
        # poll.js reloads the page once the search is done.
        rows = page.locator("table.candidates tr[data-candidate]")
        rows.first.wait_for(timeout=120_000)
        assert rows.count() == len(REFERENCES)
        mates = {refs[(0, s)][0]["barcode"] for s in (0, 1)}
        top_two = {rows.nth(i).locator("td").nth(1).locator("a").first.inner_text()
                   for i in range(2)}
        assert top_two == mates, top_two
        screenshot(page, "comparisons-3-candidates")

        rows.first.locator("text=View").click()
        page.wait_for_load_state("load")  # the images are in
        widths = page.locator("img[data-frame]").evaluate_all("l => l.map(i => i.naturalWidth)")
        # Full resolution: the 4 mm frame at the scans' own 6.25 µm is 640 px, not 160.
        assert widths == [640, 640], widths
        assert page.locator("svg.cells rect.congruent").count() >= 2
        screenshot(page, "comparisons-4-viewer")
        # Zoom and pan act on both panels alike.
        page.click("button[data-zoom=in]")
        page.click("button[data-zoom=in]")
        transforms = page.locator(".frame .zoom").evaluate_all(
            "l => l.map(e => e.style.transform)")
        assert len(set(transforms)) == 1 and "scale(2.25)" in transforms[0], transforms
        frame = page.locator(".panel.query .frame").bounding_box()
        page.mouse.move(frame["x"] + 100, frame["y"] + 100)
        page.mouse.down()
        page.mouse.move(frame["x"] + 160, frame["y"] + 140)
        page.mouse.up()
        moved = page.locator(".frame .zoom").evaluate_all("l => l.map(e => e.style.transform)")
        assert len(set(moved)) == 1 and moved[0] != transforms[0], moved
        screenshot(page, "comparisons-4b-viewer-zoomed")
        page.click("button[data-zoom=fit]")
        assert page.locator("#viewer").get_attribute("data-zoom") == "1.000"
        page.click("button[data-set-mode=overlay]")
        page.locator("#opacity").fill("60")
        opacity = page.locator(".panel.reference").evaluate("e => e.style.opacity")
        assert opacity == "0.6"
        screenshot(page, "comparisons-5-overlay")

        page.fill("form.decide input[name=note]", "Firing-pin drag and breech-face marks agree; "
                  "for microscope comparison.")
        page.click("form.decide button[value=potential_lead]")
        assert page.locator(".flash").first.inner_text() == "Candidate 1 marked: potential lead."
        assert page.locator("[data-decision=potential_lead]").count() == 1
        assert page.locator("text=Confirm at the microscope").count() == 1
        screenshot(page, "comparisons-flow")
