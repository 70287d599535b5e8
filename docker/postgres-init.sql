-- The erasure ledger lives in its own database so it outlives Airflow metadata resets.
CREATE DATABASE erasure_ledger OWNER airflow;
