package report

import (
	"io"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"
)

// Progress draws a byte progress bar for large inputs on a terminal (stderr).
type Progress struct {
	pw       progress.Writer
	trackers map[string]*progress.Tracker
	stopped  bool
}

// NewProgress starts rendering to w, which must be a terminal.
func NewProgress(w io.Writer) *Progress {
	pw := progress.NewWriter()
	pw.SetOutputWriter(w)
	pw.SetAutoStop(false)
	pw.SetUpdateFrequency(150 * time.Millisecond)
	pw.SetTrackerLength(30)
	pw.SetMessageLength(28)
	pw.SetStyle(progress.StyleDefault)
	pw.Style().Visibility.ETA = true
	pw.Style().Visibility.Speed = true
	go pw.Render()
	return &Progress{pw: pw, trackers: map[string]*progress.Tracker{}}
}

// Update sets the bytes consumed of input name out of total.
func (p *Progress) Update(name string, done, total int64) {
	if total <= 0 {
		return
	}
	t, ok := p.trackers[name]
	if !ok {
		t = &progress.Tracker{Message: name, Total: total, Units: progress.UnitsBytes}
		p.trackers[name] = t
		p.pw.AppendTracker(t)
	}
	t.SetValue(done)
}

// Stop finishes the bars and stops rendering.
func (p *Progress) Stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	for _, t := range p.trackers {
		t.MarkAsDone()
	}
	time.Sleep(200 * time.Millisecond) // let the renderer draw the final state
	p.pw.Stop()
}
