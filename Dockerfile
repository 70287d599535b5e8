# One image for every Airflow component and the Genesys Cloud sandbox in docker-compose.yaml.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.lock /opt/genesys-erasure/requirements.lock
RUN pip install --no-cache-dir -r /opt/genesys-erasure/requirements.lock

COPY --chown=airflow:root include /opt/airflow/include
COPY --chown=airflow:root plugins /opt/airflow/plugins
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root config /opt/airflow/config

ENV PYTHONPATH=/opt/airflow/include:/opt/airflow/plugins
