-- Microsoft SNDS "View Data" export: one row per IP per activity period (a day).
CREATE TABLE snds_data (
    ip               TEXT    NOT NULL,
    activity_start   INTEGER NOT NULL,  -- Unix ms, UTC
    activity_end     INTEGER NOT NULL,
    rcpt_commands    INTEGER NOT NULL,
    data_commands    INTEGER NOT NULL,
    recipients       INTEGER NOT NULL,
    filter_result    TEXT    NOT NULL,  -- GREEN (<=10% spam verdicts), YELLOW (10-90%), RED (>90%)
    complaint_rate   TEXT    NOT NULL,  -- as SNDS prints it: "< 0.1%", "0.3%"
    complaint_pct    REAL,              -- its number (0.1 for "< 0.1%": an upper bound)
    trap_start       INTEGER,
    trap_end         INTEGER,
    trap_hits        INTEGER NOT NULL,
    sample_helo      TEXT    NOT NULL,
    sample_mail_from TEXT    NOT NULL,
    comments         TEXT    NOT NULL,
    source_id        INTEGER NOT NULL REFERENCES sources (id),
    line             INTEGER NOT NULL,
    PRIMARY KEY (ip, activity_start)
);

-- SNDS "IP Status" export: blocked ranges.
CREATE TABLE snds_blocks (
    first_ip  TEXT    NOT NULL,
    last_ip   TEXT    NOT NULL,
    blocked   TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    source_id INTEGER NOT NULL REFERENCES sources (id),
    line      INTEGER NOT NULL,
    PRIMARY KEY (first_ip, last_ip, reason)
);

-- Pre-aggregated send counts (a warehouse's per-minute query output). The
-- spike analysis reads them exactly like counts derived from events.
CREATE TABLE minute_counts (
    minute      INTEGER NOT NULL,           -- Unix minutes (ts / 60000)
    provider_id INTEGER NOT NULL REFERENCES providers (id),
    domain      TEXT    NOT NULL DEFAULT '', -- '' when the counts are per provider
    ip          TEXT    NOT NULL DEFAULT '', -- '' when not per IP
    sends       INTEGER NOT NULL,
    source_id   INTEGER NOT NULL REFERENCES sources (id),
    line        INTEGER NOT NULL,
    PRIMARY KEY (minute, provider_id, domain, ip)
) WITHOUT ROWID;
