package ingest

import "time"

// SNDSRow is one line of Microsoft SNDS's "View Data" export.
type SNDSRow struct {
	IP                      string
	Start, End              time.Time
	RCPT, DATA, Recipients  int64
	Filter                  string
	ComplaintRate           string
	ComplaintPct            float64 // -1 when not a number
	TrapStart, TrapEnd      time.Time
	TrapHits                int64
	HELO, MailFrom, Comment string
	Line                    int64
}

// SNDSBlock is one line of SNDS's "IP Status" export.
type SNDSBlock struct {
	FirstIP, LastIP, Blocked, Reason string
	Line                             int64
}

// CountRow is a pre-aggregated number of sends in one minute.
type CountRow struct {
	Minute   time.Time
	Provider string // set from Domain by the caller's Enrich when Domain is given
	Domain   string
	IP       string
	Sends    int64
	Line     int64
}

// TableSink receives the records of formats that are not events. The
// ingest pipeline's sink implements it; a format that needs it fails
// clearly when handed a sink that does not.
type TableSink interface {
	Sink
	SNDS(*SNDSRow)
	SNDSBlock(*SNDSBlock)
	Count(*CountRow)
}
