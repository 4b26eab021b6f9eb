-- Tacker's `vims` and `vimauths` tables (tacker/db/nfvo/nfvo_db.py, spec §2.13) on PostgreSQL,
-- with the same meaning and constraints as migrations/sqlite.
--
-- `deleted_at` keeps Tacker's sentinel: '0001-01-01 00:00:00' while live, the soft-delete
-- time (with microseconds) afterwards, so the unique key below allows a name to be reused
-- after deletion. Timestamps are naive UTC (`timestamp without time zone`, as SQLAlchemy's
-- DateTime maps on PostgreSQL); `created_at` / `updated_at` are written in whole seconds, as
-- Tacker's MariaDB DATETIME keeps them. JSON values are text, as Tacker's `types.Json`.
CREATE TABLE vims (
    id             VARCHAR(36)  NOT NULL PRIMARY KEY,
    type           VARCHAR(64)  NOT NULL,
    tenant_id      VARCHAR(64)  NOT NULL,
    name           VARCHAR(255) NOT NULL,
    description    TEXT,
    placement_attr TEXT,
    shared         BOOLEAN      NOT NULL DEFAULT FALSE,
    is_default     BOOLEAN      NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMP WITHOUT TIME ZONE,
    updated_at     TIMESTAMP WITHOUT TIME ZONE,
    deleted_at     TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT '0001-01-01 00:00:00',
    extra          TEXT,
    CONSTRAINT uniq_vims0tenant_id0name0deleted_at UNIQUE (tenant_id, name, deleted_at)
);

-- At most one live default VIM per tenant, enforced by the database so concurrent creates
-- and updates cannot both win.
CREATE UNIQUE INDEX uniq_vims0tenant_id0live_default
    ON vims (tenant_id)
    WHERE is_default AND deleted_at = '0001-01-01 00:00:00';

CREATE TABLE vimauths (
    id          VARCHAR(36)  NOT NULL PRIMARY KEY,
    vim_id      VARCHAR(36)  NOT NULL REFERENCES vims (id),
    password    VARCHAR(255),
    auth_url    VARCHAR(255) NOT NULL,
    vim_project TEXT,
    auth_cred   TEXT
);

CREATE INDEX ix_vimauths_vim_id ON vimauths (vim_id);
