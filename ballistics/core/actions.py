"""The actions a refusal names ("Your role does not allow you to <action>", "it takes no
<new scans>"), said in the reader's language.

Services name what was refused in plain English (the API's message); the refusal looks the
phrase up here, so a new phrase still reads (in English) until it is added.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import pgettext

ACTIONS = {
    "acknowledge complaints": _l("acknowledge complaints"),
    "assign complaint investigators": _l("assign complaint investigators"),
    "close complaints": _l("close complaints"),
    "inform complainants": _l("inform complainants"),
    "record complaints": _l("record complaints"),
    "see complaints": _l("see complaints"),
    "acknowledge SOPs": _l("acknowledge SOPs"),
    "answer partner leads": _l("answer partner leads"),
    "approve SOP versions": _l("approve SOP versions"),
    "ask for a case link to be withdrawn": _l("ask for a case link to be withdrawn"),
    "ask partner labs about candidates": _l("ask partner labs about candidates"),
    "cancel a custody override": _l("cancel a custody override"),
    "change the comparison settings": _l("change the comparison settings"),
    "check out evidence": _l("check out evidence"),
    "close nonconformities": _l("close nonconformities"),
    "complete the examination": _l("complete the examination"),
    "confirm a custody override": _l("confirm a custody override"),
    "confirm leads": _l("confirm leads"),
    "decide what the lab shares": _l("decide what the lab shares"),
    "destroy evidence": _l("destroy evidence"),
    "do administrative reviews": _l("do administrative reviews"),
    "do technical reviews": _l("do technical reviews"),
    "exclude cases from sharing": _l("exclude cases from sharing"),
    "grant authorisations": _l("grant authorisations"),
    "lift exclusions from sharing": _l("lift exclusions from sharing"),
    "hand over evidence": _l("hand over evidence"),
    "manage SOPs": _l("manage SOPs"),
    "manage accounts": _l("manage accounts"),
    "manage equipment": _l("manage equipment"),
    "manage storage locations": _l("manage storage locations"),
    "new examinations": _l("new examinations"),
    "new scans": _l("new scans"),
    "new searches": _l("new searches"),
    "open cases": _l("open cases"),
    "override custody": _l("override custody"),
    "perform examinations": _l("perform examinations"),
    "plan corrective actions": _l("plan corrective actions"),
    "put SOP versions in force": _l("put SOP versions in force"),
    "rate competency as a supervisor": _l("rate competency as a supervisor"),
    "re-evaluate compliance": _l("re-evaluate compliance"),
    "receive evidence": _l("receive evidence"),
    "record calibrations": _l("record calibrations"),
    "record nonconformities": _l("record nonconformities"),
    "record proficiency tests": _l("record proficiency tests"),
    "record steps": _l("record steps"),
    "record training": _l("record training"),
    "release evidence": _l("release evidence"),
    "release reports": _l("release reports"),
    "retire SOP versions": _l("retire SOP versions"),
    "retry scans": _l("retry scans"),
    "review candidates": _l("review candidates"),
    "review corrections of case links": _l("review corrections of case links"),
    "revoke authorisations": _l("revoke authorisations"),
    "sample evidence": _l("sample evidence"),
    "samples": _l("samples"),
    "sampling": _l("sampling"),
    "scanning": _l("scanning"),
    "seal evidence": _l("seal evidence"),
    "search scans": _l("search scans"),
    "search the region": _l("search the region"),
    "see other users' tokens": _l("see other users' tokens"),
    "see others' competency": _l("see others' competency"),
    "see quality records": _l("see quality records"),
    "see the hub dashboard": _l("see the hub dashboard"),
    "see the sharing policy": _l("see the sharing policy"),
    "see who looked at the lab's data": _l("see who looked at the lab's data"),
    "self-assess competency": _l("self-assess competency"),
    "set the lab's time zone": _l("set the lab's time zone"),
    "store evidence": _l("store evidence"),
    "take equipment in or out of service": _l("take equipment in or out of service"),
    "unseal evidence": _l("unseal evidence"),
    "upload scans": _l("upload scans"),
    "verify corrective actions": _l("verify corrective actions"),
    "withdraw shared records": _l("withdraw shared records"),
    "write SOP versions": _l("write SOP versions"),
}


def action_words(action: str) -> str:
    """``action`` in the reader's language when it is a known phrase."""
    found = ACTIONS.get(action)
    return str(found) if found is not None else action


#: the kinds of record a lookup names when it finds none ("No case 5 in your lab."), in the
#: context "record" (a page's "SOP version" is a capitalised heading in Spanish)
RECORDS = {
    "SOP": lambda: pgettext("record", "SOP"),
    "SOP version": lambda: pgettext("record", "SOP version"),
    "authorisation": lambda: pgettext("record", "authorisation"),
    "candidate": lambda: pgettext("record", "candidate"),
    "case": lambda: pgettext("record", "case"),
    "case link": lambda: pgettext("record", "case link"),
    "competency assessment": lambda: pgettext("record", "competency assessment"),
    "complaint": lambda: pgettext("record", "complaint"),
    "confirmation": lambda: pgettext("record", "confirmation"),
    "correction": lambda: pgettext("record", "correction"),
    "corrective action": lambda: pgettext("record", "corrective action"),
    "equipment": lambda: pgettext("record", "equipment"),
    "examination": lambda: pgettext("record", "examination"),
    "exclusion": lambda: pgettext("record", "exclusion"),
    "exhibit transfer": lambda: pgettext("record", "exhibit transfer"),
    "finding": lambda: pgettext("record", "finding"),
    "item": lambda: pgettext("record", "item"),
    "nonconformity": lambda: pgettext("record", "nonconformity"),
    "override request": lambda: pgettext("record", "override request"),
    "partner search": lambda: pgettext("record", "partner search"),
    "person": lambda: pgettext("record", "person"),
    "scan": lambda: pgettext("record", "scan"),
    "search": lambda: pgettext("record", "search"),
    "user": lambda: pgettext("record", "user"),
}


def record_words(what: str) -> str:
    """The kind of record ``what`` in the reader's language when it is a known one."""
    found = RECORDS.get(what)
    return found() if found is not None else what
