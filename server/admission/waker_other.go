//go:build !linux

package admission

import "errors"

// pollWaker needs an eventfd; elsewhere there is no dispatch mode.
type pollWaker struct{}

func newPollWaker() (*pollWaker, error) {
	return nil, errors.New("admission: no eventfd on this platform")
}
func (w *pollWaker) wake()        {}
func (w *pollWaker) wait() error  { return errors.New("admission: no eventfd on this platform") }
func (w *pollWaker) close() error { return nil }
