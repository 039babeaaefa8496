"""Every main page of the app, with a lab whose records stress the layout: a case title and an
agency as long as the columns allow, a scan file name of 255 characters, hashes, a done search
with candidates, the SOP library and quality findings, a partner search and a lead.

The page list is data: a new page is one ``Page(...)`` line in :data:`PAGES` (its path may use
any key of the dict :func:`seed_site` returns). The responsive and accessibility tests run over
it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from ballistics.core import timeutil
from ballistics.core.context import acting_as
from ballistics.extensions import db
from tests.support.labs import make_lab
from tests.support.web import Api

#: the longest file name a file system allows; no space or hyphen: only overflow-wrap breaks it
LONG_FILENAME = ("KCP_2024_000117_breechface_" + "Kalashnikov_AK47_testfire_" * 10)[:251] + ".x3p"
LONG_WORD = "Attempted-homicide-with-a-firearm-at-the-" + "Estación-Central-de-Ferrocarril-" * 5
LONG_TITLE = (LONG_WORD + " and " + "aggravated robbery of a bank " * 6)[:200]
LONG_AGENCY = ("Policía Nacional de la República, Dirección de Investigación Criminal, "
               "Departamento de Balística Forense y Criminalística del Distrito Metropolitano")
HUB_URL = "http://127.0.0.1:9"  # nothing answers: the network pages render from local records


@dataclass(frozen=True)
class Page:
    """One page as a user meets it: who is logged in (a key of the lab's users, or None), the
    path (a format string over the seeded ids), config the page needs (applied to the served
    app for that page only). axe checks every page at desktop width; ``axe=True`` marks the
    pages the accessibility acceptance names, checked at phone width too."""

    name: str
    who: str | None
    path: str
    axe: bool = False
    config: dict = field(default_factory=dict)
    #: a page another branch is adding: skipped (with a reason) until its route exists


NODE = {"NETWORK_HUB_URL": HUB_URL, "NETWORK_LAB": "{lab}"}

PAGES: list[Page] = [
    Page("login", None, "/login", axe=True),
    Page("case-list", "tech", "/cases"),
    Page("case-list-search", "tech", "/cases?q=Estaci"),
    Page("case", "tech", "/cases/{long_case}", axe=True),
    Page("case-scanned", "examiner", "/cases/{case}"),
    Page("item", "examiner", "/items/{item}", axe=True),
    Page("item-long-case", "tech", "/items/{long_item}"),
    Page("item-report", "examiner", "/items/{item}/report"),
    Page("item-label", "tech", "/items/{long_item}/label"),
    Page("search", "examiner", "/searches/{search}", axe=True),
    Page("candidate-view", "examiner", "/candidates/{candidate}/view", axe=True),
    Page("verifications", "reviewer", "/verifications"),
    Page("comparison-settings", "manager", "/comparison-settings"),
    Page("validation", "manager", "/comparisons/validation"),
    Page("quality", "manager", "/quality/", axe=True),
    Page("quality-filtered", "manager", "/quality/?rule=CUSTODY-HELD"),
    Page("finding", "manager", "/quality/findings/{finding}"),
    Page("nonconformity", "manager", "/quality/nonconformities/{nc}"),
    Page("sops", "manager", "/quality/sops"),
    Page("competency", "manager", "/quality/examiners/{examiner}/competency"),
    Page("quality-export", "manager", "/quality/export"),
    Page("people", "manager", "/quality/people"),
    Page("person", "manager", "/quality/people/{examiner}"),
    Page("equipment", "manager", "/quality/equipment"),
    Page("instrument", "manager", "/quality/equipment/{instrument}"),
    Page("sop", "manager", "/quality/sops/{sop}"),
    Page("sop-version", "manager", "/quality/sop-versions/{sop_version}"),
    Page("examination", "manager", "/quality/examinations/{examination}"),
    Page("examination-new", "examiner", "/quality/examinations/new"),
    Page("nonconformities", "manager", "/quality/nonconformities"),
    Page("complaints", "manager", "/quality/complaints"),
    Page("complaints-overdue", "manager", "/quality/complaints?overdue=1"),
    Page("complaint", "manager", "/quality/complaints/{complaint}"),
    Page("accounts", "manager", "/accounts"),
    Page("account-user", "manager", "/accounts/{examiner}"),
    Page("my-account", "examiner", "/account"),
    Page("my-password", "examiner", "/account/password"),
    Page("network", "manager", "/network", config=NODE),
    Page("network-search", "examiner", "/network/searches/{partner_search}", config=NODE),
    Page("network-lead", "examiner", "/network/leads/{lead}", config=NODE),
    Page("network-exhibits", "manager", "/network/exhibits", config=NODE),
    Page("hub", "admin", "/hub", config={"APP_ROLE": "hub"}),
    # Pages other branches are adding (one line each; skipped until the route is on main):
    Page("audit", "manager", "/audit", axe=True),
    Page("audit-print", "manager", "/audit/print"),
    Page("item-list", "tech", "/items"),
    Page("search-list", "examiner", "/searches"),
    Page("finding-list", "manager", "/quality/findings"),
]


def seed_site(pg_app) -> dict:
    """Create the stressing lab; return {key: id or username} for :data:`PAGES` paths."""
    from sqlalchemy import func, select

    from ballistics.comparisons.models import Search
    from ballistics.evidence.models import Case, CaseCounter
    from ballistics.network.models import (
        LeadDirection,
        LeadStatus,
        PartnerLead,
        PartnerSearch,
        SearchState,
    )
    from sop.models import Equipment, Examination, Sop, SopVersion
    from sop.models.quality import Finding
    from sop.services import complaints
    from sop.services.compliance.engine import refresh_findings
    from sop.services.quality import open_nonconformity
    from tests.comparisons.helpers import searched_lab, upload, x3p_bytes
    from tests.sop.bulk import seed

    with pg_app.app_context():
        kit = make_lab()
        # The quality history first: its bulk cases take numbers the lab's counter then skips.
        seed(kit, examiners=4, examinations=40, days=60)
        year = timeutil.utcnow().year
        db.session.add(CaseCounter(lab_id=kit.lab.id, year=year, last_seq=db.session.scalar(
            select(func.max(Case.seq)).where(Case.lab_id == kit.lab.id, Case.year == year))))
        db.session.commit()
        client = pg_app.test_client()
        searched = searched_lab(client, kit)
        item = searched["items"][0]
        response = upload(client, kit.headers("examiner"), item["id"], x3p_bytes(1, 1),
                          filename=LONG_FILENAME)
        assert response.status_code == 201, response.get_json()
        tech = Api(client, kit, "tech")
        long_case = tech.post("/cases", {"submitting_agency": LONG_AGENCY,
                                         "agency_case_number": "CP-" + "9" * 70,
                                         "offence": LONG_TITLE})
        long_item = tech.receive(long_case["id"], "firearm", from_agency=LONG_AGENCY,
                                 description=LONG_WORD * 2, make="Kalashnikov-Concern",
                                 model="AK-47-" + "M" * 60, serial_number="SN" + "7" * 70)

        manager = kit.users["manager"]
        with acting_as(manager.id, kit.lab.id, "test"):
            refresh_findings(kit.lab.id)
            finding = db.session.scalars(select(Finding).where(Finding.lab_id == kit.lab.id)
                                         .order_by(Finding.id)).first()
            assert finding is not None, "the seeded lab has no finding"
            nc = open_nonconformity(manager, title=LONG_TITLE, finding=finding)
        with acting_as(kit.id("tech"), kit.lab.id, "test"):
            # one acknowledged (its page shows the investigate, reject and inform forms), one
            # overdue for acknowledgment
            complaint = complaints.record(
                kit.users["tech"], received_on=timeutil.utcnow().date() - timedelta(days=3),
                complainant_name=LONG_AGENCY[:200], complainant_organisation=LONG_AGENCY[:200],
                complainant_kind="defence", channel="in_person", subject=LONG_WORD * 3,
                case_ids=[long_case["id"]])
            complaints.acknowledge(kit.users["tech"], complaint,
                                   acknowledged_on=timeutil.utcnow().date(), note=LONG_TITLE)
            complaints.record(
                kit.users["tech"], received_on=timeutil.utcnow().date() - timedelta(days=30),
                complainant_name="Fiscalía Seccional", complainant_kind="prosecutor",
                channel="letter", subject=LONG_TITLE)

        search = db.session.get(Search, searched["search"])
        scan_id = search.query_scan_id
        now = timeutil.utcnow()
        partner = PartnerSearch(
            lab_id=kit.lab.id, scan_id=scan_id, status=SearchState.DONE, n_references=2,
            created_by_id=kit.id("examiner"), finished_at=now,
            candidates=[{"rank": 1, "record": 11, "owner": "PARTNERLAB", "reference": "r" * 40,
                         "score": 0.91, "cmc_count": 17, "likelihood_ratio": 1250.0},
                        {"rank": 2, "record": 12, "owner": "OTHER", "reference": "f" * 40,
                         "score": 0.12, "cmc_count": 2, "likelihood_ratio": None}])
        db.session.add(partner)
        db.session.flush()
        lead = PartnerLead(lab_id=kit.lab.id, direction=LeadDirection.INCOMING, hub_lead_id=1,
                           partner_code="PARTNERLAB", reference="r" * 40, scan_id=scan_id,
                           score=0.91, note=LONG_WORD, status=LeadStatus.OPEN,
                           due_at=now + timedelta(hours=48), created_at=now)
        db.session.add(lead)
        db.session.commit()
        def first(model) -> int:
            return db.session.scalar(select(model.id).where(model.lab_id == kit.lab.id)
                                     .order_by(model.id).limit(1))

        ids = {"instrument": first(Equipment), "sop": first(Sop),
               "sop_version": first(SopVersion), "examination": first(Examination),
               "lab": kit.lab.code, "case": item["case_id"], "item": item["id"],
               "long_case": long_case["id"], "long_item": long_item["id"],
               "search": searched["search"], "candidate": searched["candidates"][0],
               "finding": finding.id, "nc": nc.id, "complaint": complaint.id,
               "examiner": kit.id("examiner"),
               "partner_search": partner.id, "lead": lead.id,
               "users": {who: u.username for who, u in kit.users.items()}}
        db.session.remove()
    return ids
