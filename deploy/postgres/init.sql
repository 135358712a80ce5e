-- Runs once, when the postgres container initialises an empty data directory
-- (/docker-entrypoint-initdb.d). Temporal's databases `temporal` and `temporal_visibility` are
-- created by the `temporal-schema` job; this adds Tenure's own database. Its tables are created
-- by the worker's migrations (vault/migrations) when the worker starts.
CREATE DATABASE tenure;
