-- The event store. Times are Unix milliseconds, UTC.

CREATE TABLE ingest_runs (
    id           INTEGER PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    status       TEXT    NOT NULL CHECK (status IN ('running', 'finished', 'interrupted', 'failed')),
    pid          INTEGER NOT NULL,
    host         TEXT    NOT NULL,
    args         TEXT    NOT NULL,          -- what was asked for, as JSON
    tz           TEXT    NOT NULL,          -- zone assumed for zone-less times
    records_read INTEGER NOT NULL DEFAULT 0,
    stored       INTEGER NOT NULL DEFAULT 0,
    duplicates   INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,
    error        TEXT
);

-- One row per input read by a run: a file, stdin, or a member of a directory.
CREATE TABLE sources (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES ingest_runs (id),
    name         TEXT    NOT NULL,
    format       TEXT    NOT NULL,
    detected     TEXT    NOT NULL,          -- why this format was chosen
    records_read INTEGER NOT NULL DEFAULT 0,
    stored       INTEGER NOT NULL DEFAULT 0,
    duplicates   INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,
    zoneless     INTEGER NOT NULL DEFAULT 0, -- records whose time had no zone
    first_ts     INTEGER,
    last_ts      INTEGER
);

CREATE TABLE rejects (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES ingest_runs (id),
    source_id INTEGER NOT NULL REFERENCES sources (id),
    line      INTEGER NOT NULL,             -- line or record number in the source
    raw       TEXT    NOT NULL,
    reason    TEXT    NOT NULL
);
CREATE INDEX rejects_run ON rejects (run_id);

-- Dimensions interned once, so the events row stays narrow.
CREATE TABLE ips (
    id INTEGER PRIMARY KEY,
    ip TEXT NOT NULL UNIQUE
);

CREATE TABLE domains (
    id       INTEGER PRIMARY KEY,
    domain   TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL
);

-- Replies are stored with each event (they carry per-message ids); what
-- groups them is the normalized reply: ids, IPs, addresses and times replaced
-- by placeholders. One row per group, classified once.
CREATE TABLE reply_groups (
    id              INTEGER PRIMARY KEY,
    key             TEXT    NOT NULL UNIQUE, -- the normalized reply
    code            INTEGER NOT NULL,        -- 0 when unknown
    enhanced_code   TEXT    NOT NULL,        -- '' when unknown
    sample          TEXT    NOT NULL,        -- the first reply seen in the group, verbatim
    reason          TEXT,                    -- classification
    temporary       INTEGER,
    rule_id         TEXT,
    classified_with TEXT                     -- rules version that produced the classification
);

CREATE TABLE providers (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- The normalized vocabulary; ids are fixed (ingest.EventTypes order).
CREATE TABLE event_types (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
INSERT INTO event_types (id, name) VALUES
    (1, 'processed'), (2, 'sent'), (3, 'delivered'), (4, 'deferred'),
    (5, 'bounced'), (6, 'dropped'), (7, 'complaint'), (8, 'other');

CREATE TABLE words (
    id   INTEGER PRIMARY KEY,
    word TEXT NOT NULL UNIQUE
);

-- Keyed by (ts, dkey) without a rowid: the key is the dedupe check, and for
-- time-ordered input every insert lands at the right edge of one B-tree. (A
-- separate unique index on a random 63-bit key cost more than half of ingest
-- time.) Identical events have the same time and the same key.
CREATE TABLE events (
    ts          INTEGER NOT NULL,
    dkey        INTEGER NOT NULL,             -- dedupe key: a 63-bit hash of what identifies the event
    minute      INTEGER GENERATED ALWAYS AS (ts / 60000) VIRTUAL,
    provider_id INTEGER NOT NULL REFERENCES providers (id),
    type_id     INTEGER NOT NULL REFERENCES event_types (id),
    recipient   TEXT    NOT NULL,
    ip_id       INTEGER REFERENCES ips (id),
    code        INTEGER,                      -- SMTP basic code
    enhanced    INTEGER,                      -- RFC 3463 code as class*100000 + subject*1000 + detail (4.7.650 = 407650)
    reply       TEXT,
    group_id    INTEGER REFERENCES reply_groups (id),
    message_id  TEXT,
    attempt     INTEGER,
    word_id     INTEGER REFERENCES words (id), -- the source's own word for the type
    class_id    INTEGER REFERENCES words (id), -- mail class or stream, when the source has one
    source_id   INTEGER NOT NULL REFERENCES sources (id),
    line        INTEGER NOT NULL,
    PRIMARY KEY (ts, dkey)
) WITHOUT ROWID;

-- The readable shape, for people who open the file with sqlite3.
CREATE VIEW events_v AS
SELECT strftime('%Y-%m-%dT%H:%M:%fZ', e.ts / 1000.0, 'unixepoch') AS time,
       e.ts, e.minute, p.name AS provider, t.name AS type, w.word AS original_type,
       e.recipient, substr(e.recipient, instr(e.recipient, '@') + 1) AS recipient_domain, i.ip AS sending_ip,
       e.code AS smtp_code,
       CASE WHEN e.enhanced IS NOT NULL
            THEN printf('%d.%d.%d', e.enhanced / 100000, e.enhanced / 1000 % 100, e.enhanced % 1000) END AS enhanced_code,
       e.reply, g.reason, g.temporary, g.rule_id, g.key AS reply_group,
       e.message_id, e.attempt, c.word AS class,
       s.format, s.name AS source, e.line, s.run_id
FROM events e
JOIN providers p ON p.id = e.provider_id
JOIN event_types t ON t.id = e.type_id
JOIN sources s ON s.id = e.source_id
LEFT JOIN ips i ON i.id = e.ip_id
LEFT JOIN reply_groups g ON g.id = e.group_id
LEFT JOIN words w ON w.id = e.word_id
LEFT JOIN words c ON c.id = e.class_id;
