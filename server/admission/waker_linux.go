package admission

import (
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// pollWaker wakes one goroutine through the network poller (an eventfd):
// the woken goroutine becomes runnable only when the Go scheduler polls the
// network, which a busy scheduler does once its run queues are empty (or
// every 10 ms from sysmon). A dispatcher woken this way therefore runs after
// every connection whose request has arrived meanwhile has been woken too.
type pollWaker struct {
	f       *os.File
	fd      int
	pending atomic.Bool // a wake is written and not yet read
}

func newPollWaker() (*pollWaker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("admission: eventfd: %w", err)
	}
	// A non-blocking descriptor gives a File served by the network poller.
	return &pollWaker{f: os.NewFile(uintptr(fd), "admission-dispatch"), fd: fd}, nil
}

// wake makes the next (or current) wait return; wakes before it coalesce.
func (w *pollWaker) wake() {
	if w.pending.Swap(true) {
		return
	}
	one := [8]byte{1}
	_, _ = unix.Write(w.fd, one[:])
}

// wait blocks in the network poller until woken.
func (w *pollWaker) wait() error {
	var b [8]byte
	if _, err := w.f.Read(b[:]); err != nil {
		return fmt.Errorf("admission: eventfd read: %w", err)
	}
	w.pending.Store(false)
	return nil
}

func (w *pollWaker) close() error { return w.f.Close() }
