-- An organisation computed by chunk jobs (docs/decisions.md, "A large organisation is
-- computed in chunks"): the records that its chunk jobs and its final job all read, and each
-- chunk's digests until the final job has used them. The final job deletes its run;
-- retention deletes forgotten ones.
CREATE TABLE chunked_runs (
    id          TEXT PRIMARY KEY,  -- the batch-org job that split the organisation
    org_id      TEXT NOT NULL,
    chunks      INTEGER NOT NULL,
    chunk_users INTEGER NOT NULL,
    records     BYTEA NOT NULL,    -- JSON: asOf and the records, without statements
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE chunked_run_digests (
    run_id      TEXT NOT NULL,
    chunk       INTEGER NOT NULL,
    body        BYTEA NOT NULL,    -- JSON: the chunk's users' digests, statements and quality
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, chunk)
);

CREATE INDEX chunked_runs_created_at ON chunked_runs (created_at);
