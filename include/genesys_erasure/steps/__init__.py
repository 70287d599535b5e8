"""The erasure steps, one module each, free of Airflow: each takes an `ErasureRuntime` (settings, keys,
one Genesys client typed as `client.GenesysClient`, one ledger database) and does one part of the erasure.
`genesys_erasure.tasks` turns them into Airflow tasks."""
