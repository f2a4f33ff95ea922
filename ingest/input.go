package ingest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
)

// sniffSize is how much of an input detection looks at.
const sniffSize = 64 << 10

// Decompression limits. Logs and exports compress 5-50x, highly repetitive
// ones a few hundred times; a decompression bomb expands thousands of times.
// Past the free allowance, a compressed input may not expand more than
// MaxExpansion times the compressed bytes read so far.
const (
	DefaultMaxExpansion = 1000
	expansionAllowance  = 64 << 20
)

// ErrExpansion is returned when a compressed input expands past the limit.
var ErrExpansion = errors.New("decompressed size exceeds the expansion limit")

// expansionGuard stops reading a decompressed stream that grows too much
// faster than its compressed source.
type expansionGuard struct {
	r        io.Reader
	raw      *atomic.Int64 // compressed bytes consumed
	out      int64
	maxRatio int64
	kind     string
}

func (g *expansionGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.out += int64(n)
	if g.out > expansionAllowance && g.out > g.maxRatio*g.raw.Load() {
		return n, fmt.Errorf("%s: %w: %d bytes from %d compressed (more than %dx): refusing a likely decompression bomb",
			g.kind, ErrExpansion, g.out, g.raw.Load(), g.maxRatio)
	}
	return n, err
}

// Input is one thing to read: a file or standard input.
type Input struct {
	Name   string    // as given; "-" is stdin
	Reader io.Reader // set for stdin (or tests); nil means open Name
}

// opened is an input ready to parse: decompressed, with its head available
// for detection and a count of the raw bytes consumed for progress.
type opened struct {
	r           *bufio.Reader
	compression string
	size        int64     // raw size, 0 when unknown (stdin)
	modTime     time.Time // zero for stdin
	consumed    *atomic.Int64
	closers     []io.Closer
}

func (o *opened) Close() error {
	var first error
	for i := len(o.closers) - 1; i >= 0; i-- {
		if err := o.closers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	zipMagic  = []byte{'P', 'K', 0x03, 0x04}
)

// expandInputs replaces each directory argument by the regular files in it
// (not recursive; hidden files skipped), in name order.
func expandInputs(inputs []Input) ([]Input, error) {
	var out []Input
	for _, in := range inputs {
		if in.Reader != nil {
			out = append(out, in)
			continue
		}
		st, err := os.Stat(in.Name)
		if err != nil || !st.IsDir() {
			out = append(out, in) // openInput reports a missing file
			continue
		}
		entries, err := os.ReadDir(in.Name)
		if err != nil {
			return nil, fmt.Errorf("read directory %s: %w", in.Name, err)
		}
		n := 0
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
				continue
			}
			out = append(out, Input{Name: filepath.Join(in.Name, e.Name())})
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("directory %s has no files to ingest", in.Name)
		}
	}
	return out, nil
}

// openInput opens in and unwraps gzip or zstd by their magic bytes, whatever
// the file is called.
func openInput(in Input, maxExpansion int64) (*opened, error) {
	if maxExpansion <= 0 {
		maxExpansion = DefaultMaxExpansion
	}
	o := &opened{consumed: new(atomic.Int64)}
	src := in.Reader
	if src == nil {
		f, err := os.Open(in.Name)
		if err != nil {
			return nil, err // "open NAME: reason" already
		}
		o.closers = append(o.closers, f)
		if st, err := f.Stat(); err == nil {
			if st.IsDir() {
				f.Close()
				return nil, fmt.Errorf("open %s: is a directory", in.Name)
			}
			o.size = st.Size()
			o.modTime = st.ModTime()
		}
		src = f
	}
	raw := bufio.NewReaderSize(countingReader{src, o.consumed}, 256<<10)
	magic, _ := raw.Peek(4)
	var body io.Reader = raw
	switch {
	case bytes.HasPrefix(magic, zipMagic):
		member, rc, err := openZipFirst(in.Name, raw, o)
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("%s: zip: %w", in.Name, err)
		}
		o.closers = append(o.closers, rc)
		o.compression = "zip member " + member
		body = rc
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(raw)
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("%s: gzip: %w", in.Name, err)
		}
		o.closers = append(o.closers, zr)
		o.compression = "gzip"
		body = zr
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(raw, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(256<<20))
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("%s: zstd: %w", in.Name, err)
		}
		o.closers = append(o.closers, zstdCloser{zr})
		o.compression = "zstd"
		body = zr
	}
	if body == io.Reader(raw) {
		o.r = raw
	} else {
		guard := &expansionGuard{r: body, raw: o.consumed, maxRatio: maxExpansion, kind: o.compression}
		if strings.HasPrefix(o.compression, "zip") && o.size > 0 {
			// A zip member is read from the file, not through the counter.
			guard.raw = new(atomic.Int64)
			guard.raw.Store(o.size)
		}
		o.r = bufio.NewReaderSize(guard, 256<<10)
	}
	return o, nil
}

type zstdCloser struct{ d *zstd.Decoder }

func (z zstdCloser) Close() error { z.d.Close(); return nil }

// head returns up to sniffSize bytes without consuming them.
func (o *opened) head() ([]byte, error) {
	b, err := o.r.Peek(sniffSize)
	if err == io.EOF || err == bufio.ErrBufferFull {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// openZipFirst opens the first file member of a zip archive. A zip's index
// is at its end, so standard input is spooled to a temporary file first.
func openZipFirst(name string, raw io.Reader, o *opened) (string, io.ReadCloser, error) {
	path := name
	if name == "-" || name == "" {
		tmp, err := os.CreateTemp("", "senderscope-*.zip")
		if err != nil {
			return "", nil, err
		}
		defer os.Remove(tmp.Name())
		if _, err := io.Copy(tmp, raw); err != nil {
			tmp.Close()
			return "", nil, err
		}
		tmp.Close()
		path = tmp.Name()
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return "", nil, err
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			zr.Close()
			return "", nil, err
		}
		return f.Name, multiCloser{rc, zr}, nil
	}
	zr.Close()
	return "", nil, fmt.Errorf("the archive has no files")
}

type multiCloser struct {
	io.ReadCloser
	zr *zip.ReadCloser
}

func (m multiCloser) Close() error {
	err := m.ReadCloser.Close()
	if err2 := m.zr.Close(); err == nil {
		err = err2
	}
	return err
}
