"""Erasure of personal data from Genesys Cloud under GDPR Article 17: the domain, free of Airflow."""
