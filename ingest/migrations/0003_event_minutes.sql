-- Whether a source's sends are its processed/sent events ('explicit') or the
-- first delivery attempt of each message ('first-attempt'): a webhook archive
-- holding both would otherwise count each message twice.
ALTER TABLE sources ADD COLUMN send_kind TEXT;

-- Per-minute totals by provider and sending IP, refreshed from events for the
-- ranges ingest touched (dirty_ranges), so spikes and rates over millions of
-- events read thousands of rows. ip_id 0 = sending IP unknown.
CREATE TABLE event_minutes (
    minute      INTEGER NOT NULL,
    provider_id INTEGER NOT NULL REFERENCES providers (id),
    ip_id       INTEGER NOT NULL,
    sends       INTEGER NOT NULL, -- first attempts (or explicit sends), see sources.send_kind
    attempts    INTEGER NOT NULL, -- delivery attempts with an outcome: delivered + deferred + bounced
    delivered   INTEGER NOT NULL,
    deferred    INTEGER NOT NULL,
    bounced     INTEGER NOT NULL,
    dropped     INTEGER NOT NULL,
    complaints  INTEGER NOT NULL,
    PRIMARY KEY (provider_id, minute, ip_id)
) WITHOUT ROWID;

CREATE TABLE dirty_ranges (
    id           INTEGER PRIMARY KEY,
    first_minute INTEGER NOT NULL,
    last_minute  INTEGER NOT NULL
);
