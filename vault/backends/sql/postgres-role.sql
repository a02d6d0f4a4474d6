-- auditor: the least-privilege application role for a registry on PostgreSQL (docs/postgres.md).
--
-- Run as a superuser (or a role with CREATEROLE that owns the registry's tables), connected to the
-- registry's database, AFTER `auditor init` (or `auditor registry migrate`) created the `auditor`
-- schema as the owner role:
--
--     psql "postgresql://postgres@db.district.org/auditor?sslmode=verify-full" \
--          -v ON_ERROR_STOP=1 -f postgres-role.sql
--
-- It is safe to run again (after `auditor registry upgrade`, for instance).
--
-- auditor_app may read and write registry rows, and only INSERT into the log. It owns nothing, so
-- it cannot ALTER or DROP a table, nor drop or disable the trigger that keeps the log append-only.
-- Set its password separately, never in a file under version control:  \password auditor_app

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'auditor_app') THEN
        CREATE ROLE auditor_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO auditor_app', current_database());
END
$$;

-- Nobody but the owner creates objects in the registry's schema (PUBLIC may have had CREATE on
-- `public` before PostgreSQL 15; the `auditor` schema never grants it).
REVOKE ALL ON SCHEMA auditor FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA auditor FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA auditor FROM auditor_app;
REVOKE ALL ON FUNCTION auditor.log_append_only() FROM PUBLIC;

GRANT USAGE ON SCHEMA auditor TO auditor_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON auditor.meta, auditor.identities, auditor.wraps, auditor.records
    TO auditor_app;
-- The reveal log: read and append, nothing else (no UPDATE, DELETE or TRUNCATE privilege; the
-- trigger refuses them even for the owner).
GRANT SELECT, INSERT ON auditor.log TO auditor_app;
