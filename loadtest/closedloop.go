package loadtest

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// The closed loop over plain HTTP runs on event loops (eventloop.go): each
// slot owns at most one connection and sends its next request from the
// callback that reads the last response.

// loopPhase is one closed-loop phase on event loops: Concurrency slots, each
// owning at most one connection with at most one request in flight.
type loopPhase struct {
	gnet.BuiltinEventEngine

	target     *HTTPTarget
	ctx        context.Context
	deadline   time.Time
	du         time.Duration
	maxReq     int64
	claimed    atomic.Int64
	atLeastOne bool
	stopped    atomic.Bool // context canceled: send nothing more
	active     atomic.Int64
	done       chan struct{}
	client     *gnet.Client
	slots      []*slot
	exchanges  []*exchange // the slots', for the watchdog
}

// slot is one closed-loop worker. Its exchange is owned by the event loop
// while a connection is open, and by the dialing goroutine while none is;
// the hand-over goes through gnet's registration or a go statement.
type slot struct {
	exchange
	ph  *loopPhase
	rec *recorder
	// done is set once the slot has finished for this phase.
	done atomic.Bool
	sent int64
}

// loopClosedPhase runs one closed-loop phase of an HTTP target on event
// loops and returns the slots' recorders and the phase's wall time. It
// fails, having sent nothing, only when the event loops cannot start.
func loopClosedPhase(ctx context.Context, t *HTTPTarget, cfg Config, live *liveCounts, start time.Time, du time.Duration, maxReq int64, atLeastOne bool) ([]*recorder, time.Duration, error) {
	ph := &loopPhase{
		target:     t,
		ctx:        ctx,
		deadline:   start.Add(du),
		du:         du,
		maxReq:     maxReq,
		atLeastOne: atLeastOne,
		done:       make(chan struct{}),
		slots:      make([]*slot, cfg.Concurrency),
		exchanges:  make([]*exchange, cfg.Concurrency),
	}
	recs := make([]*recorder, cfg.Concurrency)
	for i := range ph.slots {
		recs[i] = newRecorder(live)
		ph.slots[i] = &slot{exchange: newExchange(), ph: ph, rec: recs[i]}
		ph.exchanges[i] = &ph.slots[i].exchange
	}
	cli, err := startClient(ph, min(t.eventLoops, cfg.Concurrency))
	if err != nil {
		return nil, 0, err
	}
	ph.client = cli
	ph.active.Store(int64(len(ph.slots)))
	for _, s := range ph.slots {
		go s.connect()
	}
	stopWatch := watchdog(ctx, t.timeout, func() []*exchange { return ph.exchanges }, func() { ph.stopped.Store(true) })
	<-ph.done
	elapsed := time.Since(start)
	stopWatch()
	stopClient(cli)
	return recs, elapsed, nil
}

// claim decides, at now, whether s sends one more request.
func (ph *loopPhase) claim(s *slot, now time.Time) bool {
	if ph.stopped.Load() || ph.ctx.Err() != nil {
		return false
	}
	if ph.du > 0 && !(ph.atLeastOne && s.sent == 0) && !now.Before(ph.deadline) {
		return false
	}
	if ph.maxReq > 0 && ph.claimed.Add(1) > ph.maxReq {
		return false
	}
	s.sent++
	return true
}

// finish marks s as done for the phase; the last one ends the phase.
func (s *slot) finish() {
	if s.done.Swap(true) {
		return
	}
	if s.ph.active.Add(-1) == 0 {
		close(s.ph.done)
	}
}

// connect dials a connection for s, which then sends its first request
// from OnOpen. A failed dial counts as a failed request, as it does for
// the goroutine client.
func (s *slot) connect() {
	ph := s.ph
	d := net.Dialer{Timeout: ph.target.timeout}
	for {
		if !ph.claim(s, time.Now()) {
			s.finish()
			return
		}
		t0 := time.Now()
		nc, err := d.DialContext(ph.ctx, "tcp", ph.target.fast.Addr)
		if err == nil {
			if _, err = ph.client.EnrollContext(nc, s); err == nil {
				return
			}
		}
		s.rec.add(time.Since(t0), "", errText(err))
	}
}

// OnOpen sends the slot's first request on a new connection.
func (ph *loopPhase) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	s := c.Context().(*slot)
	s.conn.Store(&c)
	now := time.Now()
	s.begin(now, now)
	return ph.target.nextRequest(), gnet.None
}

// OnTraffic records each complete response and sends the next request on
// the same connection.
func (ph *loopPhase) OnTraffic(c gnet.Conn) gnet.Action {
	s := c.Context().(*slot)
	for {
		answered, protoErr := s.readResponse(c)
		if protoErr != "" {
			s.fail(protoErr)
			return gnet.Close
		}
		if !answered {
			return gnet.None
		}
		now := time.Now()
		s.rec.add(s.settle(now), statusText(s.status), "")
		if s.connClose {
			return gnet.Close // OnClose dials again
		}
		if !ph.claim(s, now) {
			s.finish()
			return gnet.Close
		}
		s.begin(now, now)
		if _, err := c.Write(ph.target.nextRequest()); err != nil {
			return gnet.Close // gnet has closed it: OnClose recorded the failure
		}
	}
}

// fail records the in-flight request, if any, as a transport error.
func (s *slot) fail(msg string) {
	if s.inflight {
		s.rec.add(s.settle(time.Now()), "", msg)
	}
}

// OnClose records a request cut off by the close and, unless the slot is
// done, dials again.
func (ph *loopPhase) OnClose(c gnet.Conn, err error) gnet.Action {
	s := c.Context().(*slot)
	s.conn.Store(nil)
	switch inflight, answered, msg := s.closeOutcome(ph.ctx.Err() != nil, err); {
	case answered:
		s.rec.add(s.settle(time.Now()), statusText(s.status), "")
	case inflight:
		s.rec.add(s.settle(time.Now()), "", msg)
	}
	if !s.done.Load() {
		go s.connect()
	}
	return gnet.None
}
