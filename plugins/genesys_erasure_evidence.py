"""The auditor's evidence page in Airflow's UI: the evidence app (`genesys_erasure.evidence_ui`) mounted in
the API server under /erasure-evidence, and a "Erasure evidence" entry in the Browse menu that shows it
inside the UI; the analyst's "Erasure request intake" (sealed subject lists, see `intake_routes`); and
Airflow's refusal of a bad trigger Param of this project's DAGs in words (`param_errors`).
Access follows Airflow's auth manager (the app's `require_reader` and `require_submitter`)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from genesys_erasure.evidence_ui import create_app
from genesys_erasure.evidence_ui.param_errors import ParamErrorsInWords

URL_PREFIX = "/erasure-evidence"


class GenesysErasureEvidencePlugin(AirflowPlugin):
    name = "genesys_erasure_evidence"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Erasure evidence"}]
    # Airflow's refusal of a trigger whose Param fails its schema, for this project's DAGs, in words
    fastapi_root_middlewares = [{"middleware": ParamErrorsInWords, "name": "Genesys erasure Param errors"}]
    # `url_route` makes the UI show the page in its own frame at /plugin/erasure-evidence
    external_views = [
        {
            "name": "Erasure evidence",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "erasure-evidence",
        },
        # the analyst's form: the page itself refuses a user who may not trigger the ad-hoc DAG
        {
            "name": "Erasure request intake",
            "href": f"{URL_PREFIX}/intake",
            "destination": "nav",
            "category": "browse",
            "url_route": "erasure-intake",
        },
    ]
