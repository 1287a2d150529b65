package requestlog

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/warmup"
)

// fileSuffix ends every request-log file name.
const fileSuffix = ".tfrecord"

// writeBufferBytes is the buffer in front of each open file.
const writeBufferBytes = 256 << 10

// record is one serialized PredictionLog waiting in a collector's queue.
type record struct {
	model string
	b     []byte
}

// collector is the "file" LogCollector for one filename_prefix: a bounded
// queue drained by one writer goroutine into rotating TFRecord files.
type collector struct {
	l      *Logger
	prefix string
	id     string // "<start time>-<random>", TF's collector id

	queue  chan record
	flushc chan chan error
	done   chan struct{} // closed when the writer goroutine has exited

	mu     sync.RWMutex // closed, and closing the queue
	closed bool

	// The writer's state: newCollector's until the goroutine starts, then
	// the goroutine's.
	seq      int
	f        *os.File
	bw       *bufio.Writer
	rw       *warmup.RecordWriter
	path     string
	size     int64
	records  int
	dirty    bool
	closeErr error
	errLog   time.Time // last write error logged
}

// newCollector creates the collector's first file, so that a prefix that
// cannot be written fails the config load, and starts its writer.
func newCollector(l *Logger, prefix string) (*collector, error) {
	now := l.now().UTC()
	c := &collector{
		l:      l,
		prefix: prefix,
		id:     fmt.Sprintf("%s-%08x", now.Format("20060102T150405Z"), rand.Uint32()),
		queue:  make(chan record, l.opts.QueueRecords),
		flushc: make(chan chan error),
		done:   make(chan struct{}),
	}
	if err := c.openNext(); err != nil {
		return nil, err
	}
	go c.run()
	return c, nil
}

// fileName is the name of file seq: prefix, "-" unless the prefix names a
// directory, id, sequence number.
func (c *collector) fileName(seq int) string {
	sep := "-"
	if strings.HasSuffix(c.prefix, "/") || strings.HasSuffix(c.prefix, string(os.PathSeparator)) {
		sep = ""
	}
	return fmt.Sprintf("%s%s%s-%06d%s", c.prefix, sep, c.id, seq, fileSuffix)
}

// openNext creates the next file; an existing file is never reused.
func (c *collector) openNext() error {
	for tries := 0; ; tries++ {
		p := c.fileName(c.seq)
		c.seq++
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if errors.Is(err, fs.ErrExist) && tries < 100 {
			continue
		}
		if err != nil {
			return fmt.Errorf("request log file: %w", err)
		}
		c.f, c.path, c.size, c.records = f, p, 0, 0
		if c.bw == nil {
			c.bw = bufio.NewWriterSize(f, writeBufferBytes)
		} else {
			c.bw.Reset(f)
		}
		c.rw = warmup.NewRecordWriter(c.bw)
		c.l.m.files.Inc()
		return nil
	}
}

// closeFile flushes, syncs and closes the open file (removing it when it
// holds no record).
func (c *collector) closeFile() error {
	if c.f == nil {
		return nil
	}
	err := c.bw.Flush()
	if err == nil {
		err = c.f.Sync()
	}
	err = errors.Join(err, c.f.Close())
	if c.records == 0 {
		os.Remove(c.path)
	}
	c.f, c.dirty = nil, false
	if err != nil {
		return fmt.Errorf("request log file %s: %w", c.path, err)
	}
	return nil
}

// run is the writer goroutine.
func (c *collector) run() {
	defer close(c.done)
	t := time.NewTicker(c.l.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case rec, ok := <-c.queue:
			if !ok {
				c.closeErr = c.closeFile()
				return
			}
			c.write(rec)
		case reply := <-c.flushc:
			// Everything queued before Flush was called goes first.
			for n := len(c.queue); n > 0; n-- {
				rec, ok := <-c.queue
				if !ok {
					break
				}
				c.write(rec)
			}
			reply <- c.flush()
		case <-t.C:
			if c.dirty {
				if err := c.flush(); err != nil {
					c.logError(err)
				}
			}
		}
	}
}

// write appends one record, rotating the file once it holds
// MaxFileBytes.
func (c *collector) write(rec record) {
	c.l.queued.Add(-int64(len(rec.b)))
	if c.f == nil {
		if err := c.openNext(); err != nil {
			c.failed(rec, err)
			return
		}
	}
	if err := c.rw.Write(rec.b); err != nil {
		c.failed(rec, fmt.Errorf("request log file %s: %w", c.path, err))
		// The file may end in a partial record: keep what it has and go
		// on in a new file.
		c.f.Close()
		c.f, c.dirty = nil, false
		return
	}
	c.size += int64(len(rec.b)) + 16
	c.records++
	c.dirty = true
	c.l.m.written.WithLabelValues(rec.model).Inc()
	if c.size >= c.l.opts.MaxFileBytes {
		if err := c.closeFile(); err != nil {
			c.logError(err)
		}
	}
}

func (c *collector) failed(rec record, err error) {
	c.l.m.dropped.WithLabelValues(rec.model, DropWriteError).Inc()
	c.logError(err)
}

// logError logs a write error, at most once a minute per collector.
func (c *collector) logError(err error) {
	if now := time.Now(); now.Sub(c.errLog) >= time.Minute {
		c.errLog = now
		c.l.log.Error("request log: records are being dropped", "prefix", c.prefix, "error", err)
	}
}

func (c *collector) flush() error {
	if c.f == nil || !c.dirty {
		return nil
	}
	c.dirty = false
	if err := c.bw.Flush(); err != nil {
		return fmt.Errorf("request log file %s: %w", c.path, err)
	}
	return nil
}

// enqueue hands a record to the writer without waiting. It returns the
// status request_log_count records and, when the record was dropped, the
// reason.
func (c *collector) enqueue(rec record) (status.Code, string) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return status.Unavailable, DropClosed
	}
	n := int64(len(rec.b))
	if c.l.queued.Add(n) > c.l.opts.QueueBytes {
		c.l.queued.Add(-n)
		return status.ResourceExhausted, DropQueueFull
	}
	select {
	case c.queue <- rec:
		return status.OK, ""
	default:
		c.l.queued.Add(-n)
		return status.ResourceExhausted, DropQueueFull
	}
}

// flushNow writes what is queued and flushes the buffer.
func (c *collector) flushNow() error {
	reply := make(chan error, 1)
	select {
	case c.flushc <- reply:
	case <-c.done:
		return nil
	}
	select {
	case err := <-reply:
		return err
	case <-c.done:
		return nil
	}
}

// close stops taking records, writes every queued one, and flushes, syncs
// and closes the file.
func (c *collector) close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.queue)
	}
	c.mu.Unlock()
	<-c.done
	return c.closeErr
}
