// Package panics turns a recovered panic into the error a client sees: an
// INTERNAL status "Internal error (id 1f3a...)" that carries no detail of the
// panic, while the panic value and stack are logged once under the same id so
// that an operator can find them.
package panics

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"

	"github.com/tfserve/tfserve/servable/status"
)

// Error logs the recovered value r with the stack of the calling goroutine
// and attrs (what was running), and returns the INTERNAL error to give the
// callers. Call it from the deferred function that recovered. A nil log
// discards the record.
func Error(log *slog.Logger, r any, what string, attrs ...any) error {
	id := newID()
	if log != nil {
		args := append([]any{"id", id, "panic", fmt.Sprint(r)}, attrs...)
		args = append(args, "stack", string(debug.Stack()))
		log.Error("panic in "+what, args...)
	}
	return status.New(status.Internal, "Internal error (id "+id+")")
}

// newID is 8 random bytes in hex: unique enough to grep a log for.
func newID() string {
	var b [8]byte
	v := rand.Uint64()
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}
