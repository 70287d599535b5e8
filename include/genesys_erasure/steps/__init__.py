"""The erasure flow as Airflow tasks: thin glue between Airflow, the Genesys Cloud hook and the domain
package `genesys_erasure`. `flow.build_erasure_flow` wires the tasks; the other modules hold one step each."""
