"""Quality management: SOPs and versions, personnel, equipment, examinations and compliance."""

from flask import Flask

from ballistics.core.domains import install


def init_app(app: Flask) -> None:
    install(app, __name__)
    from ballistics.evidence import holds
    from sop.services.examinations import open_examinations_holds

    # An examination not yet released keeps its items from release and destruction.
    holds.register("sop.open_examinations", open_examinations_holds)
