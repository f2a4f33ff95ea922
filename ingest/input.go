package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
)

// sniffSize is how much of an input detection looks at.
const sniffSize = 64 << 10

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
	size        int64 // raw size, 0 when unknown (stdin)
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
)

// openInput opens in and unwraps gzip or zstd by their magic bytes, whatever
// the file is called.
func openInput(in Input) (*opened, error) {
	o := &opened{consumed: new(atomic.Int64)}
	src := in.Reader
	if src == nil {
		f, err := os.Open(in.Name)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", in.Name, err)
		}
		o.closers = append(o.closers, f)
		if st, err := f.Stat(); err == nil {
			if st.IsDir() {
				f.Close()
				return nil, fmt.Errorf("open %s: is a directory", in.Name)
			}
			o.size = st.Size()
		}
		src = f
	}
	raw := bufio.NewReaderSize(countingReader{src, o.consumed}, 256<<10)
	magic, _ := raw.Peek(4)
	var body io.Reader = raw
	switch {
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
		o.r = bufio.NewReaderSize(body, 256<<10)
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
