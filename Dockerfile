# One image for every Airflow component of docker-compose.yaml (api-server, scheduler, dag-processor, triggerer,
# Celery workers) and for its rehearsal services (the Genesys Cloud sandbox, fakesnow). requirements.lock
# pins the providers it runs with (Celery, PostgreSQL, Snowflake, HTTP, standard).
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.lock /opt/genesys-erasure/requirements.lock
RUN pip install --no-cache-dir -r /opt/genesys-erasure/requirements.lock

# The project as a package (genesys_cloud with its provider entry point, genesys_erasure): the DAGs import
# it without PYTHONPATH, and Airflow registers the `genesys_cloud` connection type.
COPY --chown=airflow:root pyproject.toml README.md /opt/genesys-erasure/
COPY --chown=airflow:root include /opt/genesys-erasure/include
RUN pip install --no-cache-dir --no-deps /opt/genesys-erasure

COPY --chown=airflow:root plugins /opt/airflow/plugins
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root config /opt/airflow/config
