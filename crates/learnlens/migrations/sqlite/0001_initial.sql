-- learnlens schema, SQLite. Timestamps are INTEGER microseconds since the Unix epoch (see store/time.rs). Append-only: change it with a new migration, never by editing.

-- Accounts. `id` is the id the directory source knows, so analytics and accounts meet.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    email         TEXT NOT NULL UNIQUE,          -- stored lower-cased
    name          TEXT NOT NULL,
    roles         TEXT NOT NULL,                 -- comma-separated role names
    password_hash TEXT NOT NULL,                 -- argon2id PHC string
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX users_org_idx ON users (org_id);

-- One family per login (RFC 9700 §4.14.2). Only the current token of a family is valid;
-- rotation is a compare-and-swap on current_hash.
CREATE TABLE refresh_families (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    current_hash TEXT NOT NULL,                  -- SHA-256 (hex) of the live token
    generation   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX refresh_families_user_idx ON refresh_families (user_id);

-- Every refresh token ever issued, as a hash only: lets a reused (rotated) token find its family.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Cache layer 3: the latest result of each analytic per subject and role.
CREATE TABLE analytics_results (
    subject_id     TEXT NOT NULL,
    role           TEXT NOT NULL,
    analytics_type TEXT NOT NULL,
    data           TEXT NOT NULL,
    data_quality   TEXT NOT NULL,
    calculated_at  INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (subject_id, role, analytics_type)
);
-- The seed's queries filter on expires_at within a (subject, role) and the batch prunes by it.
CREATE INDEX analytics_results_expires_idx ON analytics_results (expires_at);

-- The durable job queue (jobs-and-cache.md).
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,           -- UUIDv4: unguessable
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    owner_id         TEXT,                       -- the user who asked for it, if any
    parent_id        TEXT REFERENCES jobs (id) ON DELETE CASCADE,
    singleton_key    TEXT,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3,
    run_at           INTEGER NOT NULL,
    lease_until      INTEGER,
    progress         INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER
);
CREATE INDEX jobs_claim_idx ON jobs (run_at) WHERE status = 'queued';
CREATE INDEX jobs_lease_idx ON jobs (lease_until) WHERE status = 'running';
CREATE INDEX jobs_parent_idx ON jobs (parent_id);
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;
-- A singleton key is unique among active jobs only.
CREATE UNIQUE INDEX jobs_singleton_active_idx ON jobs (singleton_key)
    WHERE singleton_key IS NOT NULL AND status IN ('queued', 'running');

-- Cron schedules, evaluated in UTC.
CREATE TABLE schedules (
    name         TEXT PRIMARY KEY,
    cron         TEXT NOT NULL,
    enabled      INTEGER NOT NULL DEFAULT 1,
    last_fire_at INTEGER,
    updated_at   INTEGER NOT NULL
);

-- Last-known-good copy of each source response, the first fallback when a source fails.
CREATE TABLE source_snapshots (
    service     TEXT NOT NULL,
    request_key TEXT NOT NULL,
    body        TEXT NOT NULL,
    fetched_at  INTEGER NOT NULL,
    PRIMARY KEY (service, request_key)
);

-- Trained models (drop-off risk), versioned per organisation.
CREATE TABLE models (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    params      TEXT NOT NULL,
    metrics     TEXT NOT NULL,
    trained_at  INTEGER NOT NULL,
    UNIQUE (kind, org_id, version)
);
