package requestlog

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tfserve/tfserve/servable/status"
)

// AccessStderr is the --access_log value that writes to standard error.
const AccessStderr = "stderr"

// Protocol values of an access-log line.
const (
	ProtocolREST = "rest"
	ProtocolGRPC = "grpc"
)

// DefaultAccessQueue is how many lines may wait for the writer.
const DefaultAccessQueue = 8192

// AccessEntry is one finished request.
type AccessEntry struct {
	Time     time.Time // when it finished
	Protocol string    // ProtocolREST or ProtocolGRPC
	API      string
	Model    string
	// Version is the version that served the request; 0 when none did
	// (written as null).
	Version int64
	Code    status.Code
	// HTTPStatus is the REST response's status; ignored for gRPC, whose
	// line carries the code's number.
	HTTPStatus    int
	Latency       time.Duration
	RequestBytes  int64
	ResponseBytes int64
	Client        net.Addr // nil: unknown ("")
}

// accessLine is the JSON of one line; see doc.go.
type accessLine struct {
	Time          string  `json:"time"`
	Protocol      string  `json:"protocol"`
	API           string  `json:"api"`
	Model         string  `json:"model"`
	Version       *int64  `json:"version"`
	Status        string  `json:"status"`
	Code          int     `json:"code"`
	LatencyMs     float64 `json:"latency_ms"`
	RequestBytes  int64   `json:"request_bytes"`
	ResponseBytes int64   `json:"response_bytes"`
	Client        string  `json:"client"`
}

// AccessOptions configure an AccessLog. Zero values take the defaults.
type AccessOptions struct {
	// Queue bounds the lines waiting for the writer (DefaultAccessQueue).
	Queue int
	// FlushInterval is how often the buffer is flushed (1 s).
	FlushInterval time.Duration
	// Registerer, when set, receives tfserve_access_log_dropped_total.
	Registerer prometheus.Registerer
}

// AccessLog writes one JSON line per request through a bounded queue: Log
// never waits. A nil *AccessLog logs nothing.
type AccessLog struct {
	w       *bufio.Writer
	f       io.Closer // nil for stderr
	queue   chan AccessEntry
	done    chan struct{}
	dropped prometheus.Counter
	every   time.Duration

	mu     sync.RWMutex
	closed bool
	err    error // the first write error
}

// OpenAccessLog opens --access_log: "stderr", or a file opened for
// appending (created with mode 0640).
func OpenAccessLog(dest string, opts AccessOptions) (*AccessLog, error) {
	if dest == "" {
		return nil, errors.New("--access_log: empty destination")
	}
	var (
		w io.Writer
		f io.Closer
	)
	if dest == AccessStderr {
		w = os.Stderr
	} else {
		file, err := os.OpenFile(dest, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, err
		}
		w, f = file, file
	}
	a, err := NewAccessLog(w, opts)
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, err
	}
	a.f = f
	return a, nil
}

// NewAccessLog returns an AccessLog writing to w (which it does not close).
func NewAccessLog(w io.Writer, opts AccessOptions) (*AccessLog, error) {
	if opts.Queue <= 0 {
		opts.Queue = DefaultAccessQueue
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	a := &AccessLog{
		w:     bufio.NewWriterSize(w, 64<<10),
		queue: make(chan AccessEntry, opts.Queue),
		done:  make(chan struct{}),
		every: opts.FlushInterval,
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "tfserve_access_log_dropped_total",
			Help: "Access-log lines dropped because the writer fell behind."}),
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(a.dropped); err != nil {
			return nil, err
		}
	}
	go a.run()
	return a, nil
}

// Log queues one line; when the queue is full the line is dropped and
// counted.
func (a *AccessLog) Log(e AccessEntry) {
	if a == nil {
		return
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return
	}
	select {
	case a.queue <- e:
	default:
		a.dropped.Inc()
	}
}

func (a *AccessLog) run() {
	defer close(a.done)
	t := time.NewTicker(a.every)
	defer t.Stop()
	dirty := false
	var buf []byte
	for {
		select {
		case e, ok := <-a.queue:
			if !ok {
				a.setErr(a.w.Flush())
				return
			}
			buf = appendLine(buf[:0], e)
			_, err := a.w.Write(buf)
			a.setErr(err)
			dirty = true
		case <-t.C:
			if dirty {
				a.setErr(a.w.Flush())
				dirty = false
			}
		}
	}
}

func (a *AccessLog) setErr(err error) {
	if err != nil && a.err == nil {
		a.err = err
	}
}

// appendLine appends e's JSON line.
func appendLine(buf []byte, e AccessEntry) []byte {
	l := accessLine{
		Time:          e.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		Protocol:      e.Protocol,
		API:           e.API,
		Model:         e.Model,
		Status:        e.Code.String(),
		Code:          e.HTTPStatus,
		LatencyMs:     math.Round(float64(e.Latency)/float64(time.Microsecond)) / 1000,
		RequestBytes:  e.RequestBytes,
		ResponseBytes: e.ResponseBytes,
	}
	if e.Protocol != ProtocolREST {
		l.Code = int(e.Code)
	}
	if e.Version != 0 {
		v := e.Version
		l.Version = &v
	}
	if e.Client != nil {
		l.Client = e.Client.String()
	}
	b, err := json.Marshal(l)
	if err != nil {
		return buf
	}
	buf = append(buf, b...)
	return append(buf, '\n')
}

// Close writes the queued lines, flushes, and closes the file. It returns
// the first write error.
func (a *AccessLog) Close() error {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.queue)
	}
	a.mu.Unlock()
	<-a.done
	err := a.err
	if a.f != nil {
		err = errors.Join(err, a.f.Close())
		a.f = nil
	}
	return err
}
