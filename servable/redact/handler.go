package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// Handler wraps a slog.Handler so that every message and every string,
// error or Stringer attribute passes through String before it is written.
type Handler struct{ inner slog.Handler }

// NewHandler returns h with redaction; a Handler is not wrapped twice.
func NewHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(Handler); ok {
		return h
	}
	return Handler{inner: h}
}

// Logger returns a logger that redacts through NewHandler (nil: nil).
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return nil
	}
	if _, ok := l.Handler().(Handler); ok {
		return l
	}
	return slog.New(NewHandler(l.Handler()))
}

// Enabled reports whether the wrapped handler handles level.
func (h Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle redacts the record and passes it on.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs redacts attrs once and passes them on.
func (h Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = attr(a)
	}
	return Handler{inner: h.inner.WithAttrs(red)}
}

// WithGroup passes the group on.
func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{inner: h.inner.WithGroup(name)}
}

// attr redacts one attribute; groups are walked to the depth the program
// built them (never input-controlled).
func attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]slog.Attr, len(g))
		for i, x := range g {
			red[i] = attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, Error(x))
		case interface{ String() string }:
			return slog.String(a.Key, String(x.String()))
		case []byte:
			return slog.String(a.Key, String(string(x)))
		default:
			// Anything else (a panic value, a slice of paths) is kept
			// as is unless its text holds a secret.
			if s := fmt.Sprint(x); String(s) != s {
				return slog.String(a.Key, String(s))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
