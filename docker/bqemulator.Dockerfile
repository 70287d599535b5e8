# docker-compose's `bqemulator` service (the rehearsal profile): the BigQuery emulator in its own image, as it
# has its own virtualenv here (.venv-bq): its pins clash with Airflow's and fakesnow's.
FROM python:3.11-slim

COPY requirements-bq.lock /opt/bqemulator/requirements-bq.lock
RUN pip install --no-cache-dir -r /opt/bqemulator/requirements-bq.lock

# The launcher skips the DuckDB spatial extension download (no GEOGRAPHY, which erasure does not need).
COPY include/genesys_devtools/bqemulator_launcher.py /opt/bqemulator/launcher.py
ENV BQEMU_ENABLE_FORMAT_EXTENSIONS=false
ENTRYPOINT ["python", "/opt/bqemulator/launcher.py"]
