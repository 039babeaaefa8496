"""The network pages of a lab node (the hub itself is not needed to render them)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ballistics.comparisons import validation
from ballistics.core.timeutil import utcnow
from ballistics.core.wording import english
from ballistics.extensions import db
from ballistics.network.models import PartnerSearch, SearchState, SharePolicy
from ballistics.outbox.models import OutboxMessage, Topic
from tests.network.test_sharing import _scan
from tests.support.labs import make_lab
from tests.support.services import migrated_app
from tests.support.web import Browser, field_errors, unescape

# One xdist worker runs this module (scripts/test: --dist loadgroup): its module-scoped fixtures are
# computed once, not once per worker.
pytestmark = pytest.mark.xdist_group("network-pages")


@pytest.fixture(scope="module")
def node_app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("node")
    return migrated_app(f"sqlite:///{instance / 'node.sqlite'}", instance,
                        NETWORK_HUB_URL="http://127.0.0.1:9", NETWORK_LAB="NODEA")


def test_sharing_policy_page_refuses_beside_the_field_and_writes_nothing(node_app):
    with node_app.app_context():
        kit = make_lab(code="NODEA")
        manager = Browser(node_app, kit, "manager")
        page = manager.get("/network")
        assert "What we share" in page and "Who looked at our data" in page
        assert "0 records shared now." in page
        spanish = manager.client.get("/network", headers={"Accept-Language": "es"}).text
        assert "0 registros compartidos ahora." in spanish
        assert "— elegir —" in spanish and "choose" not in spanish
        _, page, flashes = manager.submit("/network/policy", {"mode": "named", "partners": ""})
        assert flashes[0][0] == "error"
        assert field_errors(page) == {"partners": "Required when sharing with named labs."}
        assert db.session.scalar(select(func.count(SharePolicy.id))) == 0
        _, page, flashes = manager.submit("/network/policy", {"mode": "named",
                                                               "partners": "LABB, LABC"})
        assert flashes[0][0] == "success"
        policy = db.session.scalars(select(SharePolicy)).one()
        assert policy.partners == ["LABB", "LABC"]
        # An examiner sees the leads, not the policy; a lab node with no hub has no page.
        examiner = Browser(node_app, kit, "examiner")
        assert "What we share" not in examiner.get("/network")
        assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.topic == Topic.HUB)) == 0  # nothing scanned yet: nothing to send
        db.session.remove()


def test_a_partner_candidate_without_an_lr_says_why_in_the_readers_language(node_app,
                                                                             monkeypatch):
    """The hub sends why a candidate has no LR in English with its wording: the partner search
    page says it in the reader's language (a hub of the release before sends the note alone,
    shown as it is), and so does the node's API asked in Spanish."""
    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        _, scan_id = _scan(kit, 1, "Robbery", "Central Police")
        inside = {"modality": "3d", "native_pixel_um": 6.25, "input_height_range_um": 8.0}
        _, why = validation.likelihood_ratio(14.2, inside, {**inside, "modality": "2d"})
        found = {"owner": "LABB", "calibre": "9mm Luger", "cmc_count": 9,
                 "signature_similarity": 0.8, "likelihood_ratio": None}
        search = PartnerSearch(
            lab_id=kit.lab.id, scan_id=scan_id, status=SearchState.DONE, n_references=3,
            created_by_id=kit.id("examiner"), finished_at=utcnow(), candidates=[
                {**found, "rank": 1, "record": 7, "reference": "r7", "score": 14.2,
                 "lr_note": english(why), "lr_wording": why},
                {**found, "rank": 2, "record": 8, "reference": "r8", "score": 9.1,
                 "lr_note": "No likelihood ratio: an older hub's reason."},
                # a wording this release cannot read (a value missing): its note instead
                {**found, "rank": 3, "record": 9, "reference": "r9", "score": 5.0,
                 "lr_note": "No likelihood ratio: a newer hub's reason.",
                 "lr_wording": {"msg": "No likelihood ratio: %(gone)s.",
                                "args": {"other": "x"}}}])
        db.session.add(search)
        db.session.commit()
        examiner = Browser(node_app, kit, "examiner")
        page = unescape(examiner.get(f"/network/searches/{search.id}"))
        note = ("No likelihood ratio: the reference is a 2D image; the calibration covers 3D "
                "topography only (a grey-level image is not a height map).")
        assert f'title="{note}"' in page
        spanish = ("Sin razón de verosimilitud: la referencia es una imagen 2D; la calibración "
                   "abarca solo topografía 3D (una imagen en escala de grises no es un mapa de "
                   "alturas).")
        page = unescape(examiner.client.get(f"/network/searches/{search.id}",
                                            headers={"Accept-Language": "es"}).text)
        assert f'title="{spanish}"' in page and note not in page
        assert 'title="No likelihood ratio: an older hub\'s reason."' in page
        assert 'title="No likelihood ratio: a newer hub\'s reason."' in page
        api = node_app.test_client().get(f"/api/v1/partner-searches/{search.id}", headers={
            **kit.headers("examiner"), "Accept-Language": "es"}).get_json()
        assert [c["lr_note"] for c in api["candidates"]] == [
            spanish, "No likelihood ratio: an older hub's reason.",
            "No likelihood ratio: a newer hub's reason."]
        assert "lr_wording" not in api["candidates"][0]
        english_api = node_app.test_client().get(f"/api/v1/partner-searches/{search.id}",
                                                 headers=kit.headers("examiner")).get_json()
        assert english_api["candidates"][0]["lr_note"] == note
        db.session.remove()


def test_a_node_without_a_hub_has_no_network_pages(app, lab):
    assert Browser(app, lab, "manager").get("/network", expect=404)


def test_hub_dashboard_shows_members_and_leads(hub_app, member):
    code = member[0]
    with hub_app.app_context():
        staff = make_lab(code="HUBSTAFF" + code[-3:])
        page = Browser(hub_app, staff, "manager").get("/hub")
        assert "Member labs" in page and code in page and "Answered within 48 h" in page
        assert Browser(hub_app, staff, "examiner").get("/hub", expect=403)
        # The hub holds no case files: its menu offers the hub, its audit log and accounts,
        # not a lab's cases, items, searches or quality pages; its home is the dashboard.
        assert 'href="/hub"' in page and 'href="/audit"' in page and 'href="/accounts"' in page
        for lab_page in ('href="/cases"', 'href="/items"', 'href="/searches"', 'href="/quality/"'):
            assert lab_page not in page
        home = Browser(hub_app, staff, "manager").client.get("/")
        assert home.status_code == 302 and home.headers["Location"].endswith("/hub")
        db.session.remove()


def test_a_partner_search_not_done_yet_claims_no_count_of_admissible_records(node_app,
                                                                            monkeypatch):
    """Queued, running or failed, the hub has compared nothing yet: the page says so rather
    than "0 shared record(s) were admissible; the top 0 were compared in full"."""
    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        _, scan_id = _scan(kit, 2, "Robbery", "Central Police")
        searches = {state: PartnerSearch(lab_id=kit.lab.id, scan_id=scan_id, status=state,
                                         created_by_id=kit.id("examiner"),
                                         error="hub unreachable" if state == "failed" else None)
                    for state in (SearchState.QUEUED, SearchState.RUNNING, SearchState.FAILED)}
        db.session.add_all(searches.values())
        db.session.commit()
        examiner = Browser(node_app, kit, "examiner")
        for state, search in searches.items():
            for lang in ("en", "es"):
                page = examiner.client.get(f"/network/searches/{search.id}",
                                           headers={"Accept-Language": lang}).text
                assert "admissible" not in page and "admisible" not in page, (state, lang)
        # queued: the hub has not taken it (it may be down), so it is not said to be searching
        page = examiner.get(f"/network/searches/{searches[SearchState.QUEUED].id}")
        assert "Waiting for the regional hub" in page and "is searching" not in page
        page = examiner.get(f"/network/searches/{searches[SearchState.RUNNING].id}")
        assert "The hub is searching; candidates appear when it is done." in page
        page = examiner.get(f"/network/searches/{searches[SearchState.FAILED].id}")
        assert "The search did not finish: it compared nothing and lists no candidate." in page
        page = examiner.client.get(f"/network/searches/{searches[SearchState.FAILED].id}",
                                   headers={"Accept-Language": "es"}).text
        assert "La búsqueda no terminó: no comparó nada y no presenta candidatos." in page
        db.session.remove()


def test_an_excluded_case_is_named_by_its_lab_case_number(node_app, monkeypatch):
    """The list of cases never shared names each by its number (as the choice above it does),
    not by the database id the reader has never seen."""
    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        # a second case first, so the excluded case's id and seq differ from its number's digits
        _scan(kit, 3, "Burglary", "City Police")
        case, _ = _scan(kit, 4, "Sealed investigation", "Central Police")
        manager = Browser(node_app, kit, "manager")
        _, page, flashes = manager.submit("/network/exclusions", {"case_id": str(case.id),
                                                                   "reason": "sealed"})
        assert flashes[0][0] == "success"
        assert f'>case {case.lab_case_number}</a></td>' in page
        assert f'href="/cases/{case.id}"' in page
        db.session.remove()


def test_an_exclusion_is_lifted_from_the_page_with_a_reason_in_spanish(node_app, monkeypatch):
    """The manager lifts an exclusion where it is listed: without a reason the page says so
    beside the field, in Spanish, and nothing changes; with one the row says who lifted it,
    and the record goes back to the hub."""
    from ballistics.network.models import ShareExclusion

    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        case, scan_id = _scan(kit, 41, "Homicide", "Central Police")
        manager = Browser(node_app, kit, "manager")
        manager.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
        manager.submit("/network/policy", {"mode": "all"})
        manager.submit("/network/exclusions", {"case_id": str(case.id), "reason": "secreto"})
        exclusion = db.session.scalars(select(ShareExclusion).where(
            ShareExclusion.case_id == case.id)).one()
        page = manager.get("/network")
        assert "Levantar la exclusión" in page and "Lift" not in page
        field = f"lift{exclusion.id}-reason"
        _, page, flashes = manager.submit(f"/network/exclusions/{exclusion.id}/lift",
                                          {field: ""})
        assert flashes[0][0] == "error"
        assert field_errors(page)[field] == "Falta este dato obligatorio."
        db.session.expire_all()
        assert db.session.get(ShareExclusion, exclusion.id).lifted_at is None
        _, page, flashes = manager.submit(f"/network/exclusions/{exclusion.id}/lift",
                                          {field: "el juez levantó el secreto"})
        assert flashes[0][0] == "success", (flashes, field_errors(page))
        assert f"{kit.users['manager'].full_name}: el juez levantó el secreto" in unescape(page)
        assert f"/network/exclusions/{exclusion.id}/lift" not in page
        assert [m.payload["scan"] for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == Topic.HUB,
                                        OutboxMessage.name == "record.publish")
            .order_by(OutboxMessage.id.desc()).limit(1))] == [scan_id]
        # another lab's manager cannot lift it
        other = make_lab()
        stranger = Browser(node_app, other, "manager")
        stranger.post(f"/network/exclusions/{exclusion.id}/lift",
                      {field: "not ours to lift"}, expect=404)
        db.session.remove()


def test_the_hub_dashboard_counts_one_search_and_one_lead_in_the_singular(hub_app):
    """"1 partner searches", "1 leads:" (and "1 búsquedas", "1 pistas:") read as one."""
    from flask import render_template

    from ballistics.network.dashboard import Dashboard

    one = Dashboard(members=[], leads_by_status={"open": 1, "disclosed": 0}, overdue=[],
                    entry_to_lead=(None, None), lead_to_answer=(None, None),
                    answered_within_48h=None, searches=1)
    pages = {}
    for lang in ("en", "es"):
        with hub_app.test_request_context("/hub", headers={"Accept-Language": lang}):
            pages[lang] = render_template("network/hub.html", dash=one)
    assert "<strong>1</strong> partner search</p>" in pages["en"]
    assert "<strong>1</strong> lead: " in pages["en"]
    assert "<strong>1</strong> búsqueda en asociados</p>" in pages["es"]
    assert "<strong>1</strong> pista: " in pages["es"]
    # no overdue lead: said of leads ("Ninguno." did not agree with "Pistas vencidas")
    assert '<li class="muted">No lead is overdue.</li>' in pages["en"]
    assert '<li class="muted">Ninguna pista vencida.</li>' in pages["es"]


def test_an_error_page_names_the_kind_of_error_in_spanish(node_app, monkeypatch):
    """Exporting a scan that is not shared is refused with the app's own code (not_shared): the
    Spanish page's heading says "409 · conflicto", not the code in English."""
    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        _, scan_id = _scan(kit, 5, "Robbery", "Central Police")  # never offered to the hub
        examiner = Browser(node_app, kit, "examiner")
        response = examiner.client.get(f"/scans/{scan_id}/x3p",
                                       headers={"Accept-Language": "es"})
        assert response.status_code == 409
        assert "<h1>409 · conflicto</h1>" in response.text
        assert "not shared" not in response.text and "no se comparte" in response.text
        english = examiner.client.get(f"/scans/{scan_id}/x3p")
        assert "<h1>409 · conflict</h1>" in english.text
        api = node_app.test_client().get(f"/api/v1/scans/{scan_id}/x3p",
                                         headers=kit.headers("examiner"))
        assert api.status_code == 409 and api.get_json()["error"] == "not_shared"  # its code
        db.session.remove()


def test_a_partner_lab_code_refused_in_spanish(node_app, monkeypatch):
    """Sending an exhibit to a lab code that cannot be one: the refusal beside the field is
    in the reader's language (it was English on Spanish pages)."""
    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        examiner = Browser(node_app, kit, "examiner")
        examiner.client.set_cookie("lang", "es")
        _, page, flashes = examiner.submit("/network/exhibits", {"item_id": "", "note": "",
                                                                  "partner": "no lab!"})
        assert flashes[0][0] == "error"
        assert field_errors(page)["partner"] == "Un código de laboratorio (A-Z, 0-9, -)."
        examiner.client.set_cookie("lang", "en")
        _, page, _ = examiner.submit("/network/exhibits", {"item_id": "", "note": "",
                                                            "partner": "no lab!"})
        assert field_errors(page)["partner"] == "A lab code (A-Z, 0-9, -)."
        db.session.remove()


def test_a_partner_search_says_how_many_records_it_compared_in_good_grammar(node_app,
                                                                            monkeypatch):
    """One admissible record is one ("1 shared record(s) were admissible; the top 1 were
    compared", "los 1 primeros" in Spanish); none is said by the empty table alone."""
    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        _, scan_id = _scan(kit, 6, "Robbery", "Central Police")
        searches = {n: PartnerSearch(lab_id=kit.lab.id, scan_id=scan_id, status=SearchState.DONE,
                                     n_references=n, k=2, created_by_id=kit.id("examiner"),
                                     finished_at=utcnow(), candidates=[])
                    for n in (0, 1, 3)}
        db.session.add_all(searches.values())
        db.session.commit()
        examiner = Browser(node_app, kit, "examiner")

        def page(n: int, lang: str) -> str:
            return unescape(examiner.client.get(f"/network/searches/{searches[n].id}",
                                                headers={"Accept-Language": lang}).text)

        assert ("1 shared record was admissible (same region and calibre, shared with us) and "
                "was compared in full.") in page(1, "en")
        assert ("1 registro compartido era admisible (misma región y calibre, compartido con "
                "nosotros) y se comparó por completo.") in page(1, "es")
        assert ("3 shared records were admissible (same region and calibre, shared with us); "
                "the top 2 were compared in full.") in page(3, "en")
        assert "los 2 primeros se compararon por completo." in page(3, "es")
        assert "admissible (" not in page(0, "en")
        assert "No shared record was admissible." in page(0, "en")
        db.session.remove()


def test_answering_a_closed_lead_says_its_status_in_the_readers_language(node_app,
                                                                        monkeypatch):
    """A second answer to a lead already declined is refused: "La pista N ya está
    rechazada.", not "ya está declined"."""
    from ballistics.network.models import LeadDirection, LeadStatus, PartnerLead

    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        _, scan_id = _scan(kit, 7, "Robbery", "Central Police")
        lead = PartnerLead(lab_id=kit.lab.id, direction=LeadDirection.INCOMING, hub_lead_id=5,
                           partner_code="LABB", reference="r1", scan_id=scan_id, score=9.0,
                           status=LeadStatus.DECLINED, answer="sealed")
        db.session.add(lead)
        db.session.commit()
        examiner = Browser(node_app, kit, "examiner")
        examiner.client.set_cookie("lang", "es")
        _, _, flashes = examiner.submit(f"/network/leads/{lead.id}/answer",
                                        {"status": "disclosed", "answer": "x"})
        assert flashes == [("error", f"La pista {lead.id} ya está rechazada.")]
        db.session.remove()


def test_a_lead_links_back_to_its_search_and_says_when_it_was_answered(node_app, monkeypatch):
    """An asked lead names the partner search it came from; once answered the page says when,
    not the answer still being due."""
    from ballistics.network.models import (
        LeadDirection,
        LeadStatus,
        PartnerLead,
        PartnerSearch,
        SearchState,
    )

    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        _, scan_id = _scan(kit, 8, "Robbery", "Central Police")
        search = PartnerSearch(lab_id=kit.lab.id, scan_id=scan_id, k=50,
                               created_by_id=kit.id("examiner"), status=SearchState.DONE,
                               candidates=[], n_references=0)
        db.session.add(search)
        db.session.flush()
        due = utcnow() + timedelta(hours=48)
        lead = PartnerLead(lab_id=kit.lab.id, direction=LeadDirection.OUTGOING, hub_lead_id=6,
                           partner_code="LABB", search_id=search.id, reference="r2", score=9.0,
                           status=LeadStatus.OPEN, due_at=due)
        db.session.add(lead)
        db.session.commit()
        examiner = Browser(node_app, kit, "examiner")
        page = examiner.get(f"/network/leads/{lead.id}")
        assert f'href="/network/searches/{search.id}" data-testid="lead-search"' in page
        assert 'data-testid="lead-due"' in page and 'data-testid="lead-answered"' not in page
        lead.status, lead.answer = LeadStatus.DISCLOSED, "our case 12"
        lead.answered_at = utcnow()
        db.session.commit()
        page = examiner.get(f"/network/leads/{lead.id}")
        assert 'data-testid="lead-answered"' in page and 'data-testid="lead-due"' not in page
        examiner.client.set_cookie("lang", "es")
        page = examiner.get(f"/network/leads/{lead.id}")
        assert f"Búsqueda en asociados {search.id}" in page and "Encontrada en" in page
        assert "Respondida" in page and "Respuesta esperada" not in page
        db.session.remove()


def test_the_api_excludes_once_and_lifts_an_exclusion(node_app, monkeypatch):
    """POST /network/exclusions refuses a case already excluded (409, naming the field);
    POST /network/exclusions/<id>/lift lifts it once (then 409), in the caller's lab only
    (404 elsewhere), for a manager only (403), and says when in UTC."""
    with node_app.app_context():
        kit, other = make_lab(), make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        case, _ = _scan(kit, 42, "Homicide", "Central Police")
        client = node_app.test_client()
        body = {"case_id": case.id, "reason": "sealed by the judge"}
        made = client.post("/api/v1/network/exclusions", json=body,
                           headers=kit.headers("manager"))
        assert made.status_code == 201
        again = client.post("/api/v1/network/exclusions", json=body,
                            headers=kit.headers("manager"))
        assert again.status_code == 409 and again.json["error"] == "already_excluded"
        assert again.json["fields"] == {"case_id": ["Already excluded."]}
        lift = f"/api/v1/network/exclusions/{made.json['id']}/lift"
        why = {"reason": "the judge lifted the seal"}
        assert client.post(lift, json=why, headers=kit.headers("examiner")).status_code == 403
        assert client.post(lift, json=why, headers=other.headers("manager")).status_code == 404
        assert client.post(lift, json={"reason": ""},
                           headers=kit.headers("manager")).status_code == 422
        lifted = client.post(lift, json=why, headers=kit.headers("manager"))
        assert lifted.status_code == 200, lifted.json
        assert lifted.json["case_id"] == case.id and lifted.json["lifted_at"].endswith("+00:00")
        assert client.post(lift, json=why, headers=kit.headers("manager")).status_code == 409
        db.session.remove()


# -- the network as its users found it (QA walk of scripts/run --network) -------------------


def test_a_partner_search_the_hub_never_took_says_so_in_the_readers_language(app, lab,
                                                                            monkeypatch):
    """The hub is down: the search is queued, not "sent to the regional hub"; the page does
    not claim the hub is searching; the search waits for the hub; when the node gives up, the
    reason is the reader's language without the hub's address or an errno (it was "The hub
    could not be reached or refused the search: hub at http://... unreachable: <urlopen error
    [Errno 111] ...>" on Spanish pages too)."""
    from ballistics.network import tasks

    monkeypatch.setitem(app.config, "NETWORK_HUB_URL", "http://127.0.0.1:9")
    monkeypatch.setitem(app.config, "NETWORK_LAB", lab.lab.code)
    _, scan_id = _scan(lab, 21, "Robbery", "Central Police")
    db.session.commit()
    examiner = Browser(app, lab, "examiner")
    path, page, flashes = examiner.submit(f"/scans/{scan_id}/partner-searches", {})
    search_id = int(path.rsplit("/", 1)[1])
    assert flashes == [("success", f"Partner search {search_id} queued for the regional hub; "
                                   "this page follows it.")]
    assert "Waiting for the regional hub" in page and "The hub is searching" not in page
    assert "if it does not answer within 15 minutes" in page

    # The node's worker tries the hub (nobody listens at 127.0.0.1:9): the search waits and
    # is tried again, not failed after a minute of retries (a hub restart lost it).
    again = []
    monkeypatch.setattr(tasks.submit_search, "apply_async",
                        lambda args, countdown: again.append((args, countdown)))
    assert tasks.submit_search.run(search_id) == "waiting for the hub"
    assert again == [((search_id,), tasks.HUB_WAIT_SECONDS)]
    search = db.session.get(PartnerSearch, search_id)
    assert search.status == SearchState.QUEUED and search.error == ""
    # Still out of reach past NETWORK_SEARCH_TIMEOUT: it fails, saying why.
    search.created_at -= timedelta(seconds=app.config["NETWORK_SEARCH_TIMEOUT"])
    db.session.commit()
    assert tasks.submit_search.run(search_id) == "gave up"
    assert len(again) == 1
    db.session.remove()
    english_page = unescape(examiner.get(f"/network/searches/{search_id}"))
    said = ("The regional hub could not be reached; nothing was compared. Search again once the "
            "hub is back.")
    assert said in english_page
    examiner.client.set_cookie("lang", "es")
    spanish = unescape(examiner.get(f"/network/searches/{search_id}"))
    assert ("No se pudo contactar con el nodo regional; no se comparó nada. Vuelva a buscar "
            "cuando el nodo esté disponible.") in spanish
    for leak in ("127.0.0.1", "Errno", "unreachable", "could not be reached"):
        assert leak not in spanish
    status = examiner.client.get(f"/network/searches/{search_id}/status.json").get_json()
    assert (status["status"], status["label"], status["final"]) == ("failed", "fallido", True)
    assert status["reason"].startswith("No se pudo contactar")
    api = app.test_client().get(f"/api/v1/partner-searches/{search_id}",
                                headers=lab.headers("examiner")).get_json()
    assert api["status"] == "failed" and api["error"] == said
    spanish_api = app.test_client().get(f"/api/v1/partner-searches/{search_id}", headers={
        **lab.headers("examiner"), "Accept-Language": "es"}).get_json()
    assert spanish_api["error"].startswith("No se pudo contactar con el nodo regional")


def test_a_hub_reason_without_wording_is_introduced_in_the_readers_language(node_app,
                                                                            monkeypatch):
    """A search the hub itself failed carries the hub's English reason: the Spanish page says
    whose words they are rather than dropping English into the sentence."""
    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        _, scan_id = _scan(kit, 22, "Robbery", "Central Police")
        search = PartnerSearch(lab_id=kit.lab.id, scan_id=scan_id, status=SearchState.FAILED,
                               created_by_id=kit.id("examiner"), finished_at=utcnow(),
                               error="a comparison task failed; see the hub worker's log")
        db.session.add(search)
        db.session.commit()
        examiner = Browser(node_app, kit, "examiner")
        examiner.client.set_cookie("lang", "es")
        page = unescape(examiner.get(f"/network/searches/{search.id}"))
        assert ("El nodo regional abandonó la búsqueda; su motivo, en sus propias palabras: "
                "<q lang=\"en\">a comparison task failed; see the hub worker's log</q>") in page
        db.session.remove()


def test_a_refused_note_to_the_owner_stays_in_its_candidates_row(node_app, monkeypatch):
    """A note too long for one candidate is refused beside that candidate's note; the other
    candidates' forms stay empty (the refused note was copied into every row, all with one
    id, and the refusal was only at the top of the page)."""
    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        _, scan_id = _scan(kit, 23, "Robbery", "Central Police")
        found = {"owner": "LABB", "calibre": "9mm Luger", "cmc_count": 9, "score": 9.0,
                 "signature_similarity": 0.8, "likelihood_ratio": None}
        search = PartnerSearch(
            lab_id=kit.lab.id, scan_id=scan_id, status=SearchState.DONE, n_references=2,
            created_by_id=kit.id("examiner"), finished_at=utcnow(), candidates=[
                {**found, "rank": 1, "record": 7, "reference": "LABB-7"},
                {**found, "rank": 2, "record": 8, "reference": "LABB-8"}])
        db.session.add(search)
        db.session.commit()
        examiner = Browser(node_app, kit, "examiner")
        note = "same firing pin drag? " * 100  # 2,200 characters: past the 2,000 allowed
        _, page, flashes = examiner.submit(
            f"/network/searches/{search.id}/candidates/8/lead", {"note": note})
        assert flashes[0][0] == "error"
        assert field_errors(page) == {"note": "Longer than maximum length 2000."}
        assert page.count("same firing pin drag?") == 100  # in the row asked about only
        assert 'id="note-7"' in page and 'id="note-8"' in page and 'id="note"' not in page
        row7 = page.split('data-record="7"')[1].split("</tr>")[0]
        assert "same firing pin drag?" not in row7 and "field-error" not in row7
        row8 = page.split('data-record="8"')[1].split("</tr>")[0]
        assert 'aria-describedby="note-8-error"' in row8
        # Asked: the question waits for the hub (down here), so it "goes"; it was said to be
        # asked ("LABB is asked about LABB-8") before the hub had it.
        _, page, flashes = examiner.submit(
            f"/network/searches/{search.id}/candidates/8/lead", {"note": "same gun?"})
        assert flashes == [("success", "Your question about LABB-8 goes to LABB through the "
                                       "regional hub; the answer appears under Network.")]
        assert "when the hub has the lead" in page
        db.session.remove()


def test_the_hub_dashboard_counts_leads_of_each_status_in_agreement(hub_app):
    """"0 revelada", "2 abierta": each status is counted as the language counts it."""
    from flask import render_template

    from ballistics.network.dashboard import Dashboard

    dash = Dashboard(members=[], overdue=[], entry_to_lead=(None, None),
                     lead_to_answer=(None, None), answered_within_48h=None, searches=0,
                     leads_by_status={"open": 2, "disclosed": 1, "exhibit_requested": 0,
                                      "declined": 0, "expired": 1})
    pages = {}
    for lang in ("en", "es"):
        with hub_app.test_request_context("/hub", headers={"Accept-Language": lang}):
            pages[lang] = render_template("network/hub.html", dash=dash)
    assert ("2 open · 1 disclosed · 0 with the exhibit requested · 0 declined · 1 expired"
            in pages["en"])
    assert ("2 abiertas · 1 revelada · 0 con el indicio solicitado · 0 rechazadas · 1 vencida"
            in pages["es"])


def test_sharing_with_named_labs_reads_codes_as_typed_and_names_a_wrong_one(node_app,
                                                                            monkeypatch):
    """"labb, labc" is read as the codes LABB and LABC (the exhibit form reads them so);
    a code that cannot be one is named, once (the page said "A lab code (A-Z, 0-9, -)." once
    per wrong code, without saying which)."""
    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        manager = Browser(node_app, kit, "manager")
        _, page, flashes = manager.submit("/network/policy", {
            "mode": "named", "partners": "labb, no lab!, L", "offence_contains": "robbery"})
        assert flashes[0][0] == "error"
        assert field_errors(page) == {
            "partners": "Not a lab code (A-Z, 0-9, -; 2 to 16 characters): NO LAB!, L."}
        assert 'value="robbery"' in page  # what was typed stays
        assert db.session.scalar(select(func.count(SharePolicy.id)).where(
            SharePolicy.lab_id == kit.lab.id)) == 0
        _, _, flashes = manager.submit("/network/policy", {"mode": "named",
                                                           "partners": "labb, Labc"})
        # not "within a minute": the hub (down here) has it when it has it
        assert flashes == [("success", "Sharing set to named; "
                                       "what the hub holds follows once the hub has the "
                                       "change.")]
        policy = db.session.scalars(select(SharePolicy).where(
            SharePolicy.lab_id == kit.lab.id)).one()
        assert policy.partners == ["LABB", "LABC"]
        db.session.remove()


def test_sending_an_exhibit_names_every_missing_field_at_once(node_app, monkeypatch):
    """No item chosen and no partner given: both are refused beside their fields (the item's
    refusal came only after the partner was put right), and the item is marked required."""
    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        examiner = Browser(node_app, kit, "examiner")
        page = examiner.get("/network/exhibits")
        item_label = page.split('for="item_id"')[0] if 'for="item_id"' in page else page
        assert 'Item in your hands <span class="req"' in item_label
        _, page, flashes = examiner.submit("/network/exhibits", {"item_id": "", "partner": "",
                                                                 "note": "kept"})
        assert set(field_errors(page)) == {"item_id", "partner"}
        assert flashes[0][1].startswith("Please correct the form. Item in your hands: Choose")
        assert 'value="kept"' in page
        db.session.remove()


def test_an_answered_lead_asked_of_us_shows_when_it_was_answered_not_due(node_app,
                                                                         monkeypatch):
    """The overview's "Answer due" column of a lead already answered said its old due date."""
    from ballistics.network.models import LeadDirection, LeadStatus, PartnerLead

    with node_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", kit.lab.code)
        _, scan_id = _scan(kit, 24, "Robbery", "Central Police")
        due = utcnow() + timedelta(hours=48)
        answered = PartnerLead(lab_id=kit.lab.id, direction=LeadDirection.INCOMING,
                               hub_lead_id=41, partner_code="LABB", reference="r41",
                               scan_id=scan_id, score=9.0, status=LeadStatus.DISCLOSED,
                               answer="our case 4", due_at=due, answered_at=utcnow())
        waiting = PartnerLead(lab_id=kit.lab.id, direction=LeadDirection.INCOMING,
                              hub_lead_id=42, partner_code="LABB", reference="r42",
                              scan_id=scan_id, score=8.0, status=LeadStatus.OPEN, due_at=due)
        db.session.add_all([answered, waiting])
        db.session.commit()
        examiner = Browser(node_app, kit, "examiner")
        examiner.client.set_cookie("lang", "es")
        cells = [c.split("</td>")[0] for c in
                 examiner.get("/network").split('data-testid="lead-due">')[1:]]
        assert len(cells) == 2
        assert cells[0].startswith("2") and "respondida" not in cells[0]  # r42: due
        assert cells[1].startswith("respondida el ")  # r41
        db.session.remove()


def test_the_hub_operator_reads_the_hubs_network_records_in_the_audit_log(hub_app, member,
                                                                         node_app, monkeypatch):
    """The hub's own records (a member registered, searches, leads) are audited with no lab:
    the hub operator's audit log read only the staff lab's entries, so the network's looks were
    nowhere to be seen. At the hub the log offers both, the network's sealed in the staff lab's
    ledger log (tests/ledger/test_hub_log.py); a lab node has no network log."""
    code = member[0]
    with hub_app.app_context():
        staff = make_lab(code="HUBAUD" + code[-3:])
        monkeypatch.setitem(hub_app.config, "HUB_LEDGER_LAB", staff.lab.code)
        operator = Browser(hub_app, staff, "manager")
        own = operator.get("/audit")
        assert 'data-testid="hub-logs"' in own and "hub_members" not in own
        page = unescape(operator.get("/audit?log=network"))
        assert "the hub's network records" in page and "hub_members" in page
        assert code in page and 'data-testid="network-log-sealed"' in page
        assert 'data-testid="chain-state"' in page
        assert '<input type="hidden" name="log" value="network">' in page  # filters keep it
        filtered = operator.get("/audit?log=network&object_type=hub_members")
        assert code in filtered
        csv = operator.client.get("/audit/export.csv?log=network").text
        assert "hub_members" in csv and code in csv
        spanish = operator.client.get("/audit?log=network", headers={"Accept-Language": "es"})
        assert "los registros de red del nodo regional" in unescape(spanish.text)
        db.session.remove()
    with node_app.app_context():
        kit = make_lab()
        manager = Browser(node_app, kit, "manager")
        assert manager.get("/audit?log=network", expect=404)
        assert 'data-testid="hub-logs"' not in manager.get("/audit")
        db.session.remove()


def test_the_network_page_says_when_the_hub_cannot_be_reached(app, lab, monkeypatch):
    """The hub down: what the lab did (a sharing change, a lead, an answer) waits in its
    outbox. The page said nothing, and the flash had said the hub would have it "within a
    minute": it now says how much waits, since when, and that it goes when the hub answers."""
    from ballistics.network import node

    monkeypatch.setitem(app.config, "NETWORK_HUB_URL", "http://127.0.0.1:9")
    monkeypatch.setitem(app.config, "NETWORK_LAB", lab.lab.code)
    # this test's outbox only (the session's database is shared with other tests)
    for message in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.topic == Topic.HUB, OutboxMessage.sent_at.is_(None))):
        message.sent_at = utcnow()
    db.session.commit()
    from ballistics.network.models import LeadDirection, LeadStatus, PartnerLead

    _, scan_id = _scan(lab, 31, "Robbery", "Central Police")
    lead = PartnerLead(lab_id=lab.lab.id, direction=LeadDirection.INCOMING, hub_lead_id=31,
                       partner_code="LABB", reference="r31", scan_id=scan_id, score=9.0,
                       status=LeadStatus.OPEN, due_at=utcnow() + timedelta(hours=48))
    db.session.add(lead)
    db.session.commit()
    manager = Browser(app, lab, "manager")
    assert 'data-testid="hub-backlog"' not in manager.get("/network")
    _, _, flashes = Browser(app, lab, "examiner").submit(
        f"/network/leads/{lead.id}/answer", {"status": "declined", "answer": "sealed"})
    assert flashes[0][0] == "success"
    page = manager.get("/network")
    assert "1 change made here is on its way to the regional hub." in page
    assert node.deliver() == (0, 1)  # nobody listens at 127.0.0.1:9
    db.session.commit()
    page = unescape(manager.get("/network"))
    assert ("The regional hub could not be reached at the last try: 1 change made here since "
            in page)
    assert "Partner searches wait for it too." in page
    manager.client.set_cookie("lang", "es")
    spanish = unescape(manager.get("/network"))
    assert "No se pudo contactar con el nodo regional en el último intento: 1 cambio" in spanish
    for message in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.topic == Topic.HUB, OutboxMessage.sent_at.is_(None))):
        message.sent_at = utcnow()  # delivered: the page is quiet again
    db.session.commit()
    assert 'data-testid="hub-backlog"' not in manager.get("/network")
