"""The auditor's evidence page, mounted in Airflow's API server by `plugins/genesys_erasure_evidence.py`:
runs and their signature checks, erasures per night, backlog and deadlines, signed reports and
certificates, legal-hold exemptions, and a look-up by keyed hash. See `app.py`."""

from genesys_erasure.evidence_ui.app import create_app

__all__ = ["create_app"]
