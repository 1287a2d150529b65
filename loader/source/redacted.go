package source

import (
	"context"

	"github.com/tfserve/tfserve/servable/redact"
)

// redacted wraps every Source that Open returns so that no error it gives
// (including those the AWS, GCS and HTTP clients write, which may quote a
// signed URL) and no description carries a credential.
type redacted struct{ src Source }

func (r redacted) Versions(ctx context.Context) ([]int64, error) {
	vs, err := r.src.Versions(ctx)
	return vs, RedactError(err)
}

func (r redacted) Fetch(ctx context.Context, version int64) (string, error) {
	dir, err := r.src.Fetch(ctx, version)
	return dir, RedactError(err)
}

func (r redacted) String() string { return redact.String(r.src.String()) }

// Unwrap returns the Source Open built (for openers' own helpers, such as
// mlflow.FetchSavedModel).
func (r redacted) Unwrap() Source { return r.src }

// RedactError returns err with its text passed through redact.String; it
// still unwraps to err for errors.Is and errors.As (context cancellation).
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(redactedError); ok {
		return err
	}
	return redactedError{err}
}

type redactedError struct{ err error }

func (e redactedError) Error() string { return redact.Error(e.err) }
func (e redactedError) Unwrap() error { return e.err }
