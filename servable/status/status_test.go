package status

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestCodeNamesAndHTTP(t *testing.T) {
	// Numbers from tensorflow/core/protobuf/error_codes.proto; HTTP from
	// tensorflow_serving/model_servers/http_server.cc.
	cases := []struct {
		c    Code
		num  int
		name string
		http int
	}{
		{OK, 0, "OK", 200},
		{Cancelled, 1, "CANCELLED", 499},
		{Unknown, 2, "UNKNOWN", 500},
		{InvalidArgument, 3, "INVALID_ARGUMENT", 400},
		{DeadlineExceeded, 4, "DEADLINE_EXCEEDED", 504},
		{NotFound, 5, "NOT_FOUND", 404},
		{AlreadyExists, 6, "ALREADY_EXISTS", 409},
		{PermissionDenied, 7, "PERMISSION_DENIED", 403},
		{ResourceExhausted, 8, "RESOURCE_EXHAUSTED", 429},
		{FailedPrecondition, 9, "FAILED_PRECONDITION", 400},
		{Aborted, 10, "ABORTED", 409},
		{OutOfRange, 11, "OUT_OF_RANGE", 400},
		{Unimplemented, 12, "UNIMPLEMENTED", 501},
		{Internal, 13, "INTERNAL", 500},
		{Unavailable, 14, "UNAVAILABLE", 503},
		{DataLoss, 15, "DATA_LOSS", 500},
		{Unauthenticated, 16, "UNAUTHENTICATED", 401},
	}
	for _, c := range cases {
		if int(c.c) != c.num || c.c.String() != c.name || HTTPStatus(c.c) != c.http {
			t.Errorf("code %d: got (%d,%q,%d) want (%d,%q,%d)", c.num, int(c.c), c.c.String(), HTTPStatus(c.c), c.num, c.name, c.http)
		}
		if p, ok := ParseCode(c.name); !ok || p != c.c {
			t.Errorf("ParseCode(%q) = %v,%v", c.name, p, ok)
		}
	}
	if HTTPStatus(Code(99)) != 500 || Code(99).String() != "UNKNOWN_CODE_99" {
		t.Errorf("unknown code handling")
	}
}

func TestErrors(t *testing.T) {
	err := Errorf(InvalidArgument, "bad %s", "thing")
	if err.Error() != "bad thing" || CodeOf(err) != InvalidArgument || StatusString(err) != "INVALID_ARGUMENT: bad thing" {
		t.Fatalf("got %q %v %q", err.Error(), CodeOf(err), StatusString(err))
	}
	wrapped := fmt.Errorf("context: %w", err)
	if CodeOf(wrapped) != InvalidArgument {
		t.Errorf("CodeOf through wrapping = %v", CodeOf(wrapped))
	}
	if CodeOf(nil) != OK || CodeOf(errors.New("x")) != Unknown || StatusString(nil) != "OK" {
		t.Errorf("nil / plain error handling")
	}
	if c := CodeOf(fmt.Errorf("run: %w", context.DeadlineExceeded)); c != DeadlineExceeded {
		t.Errorf("CodeOf(wrapped context.DeadlineExceeded) = %v", c)
	}
	if c := CodeOf(context.Canceled); c != Cancelled {
		t.Errorf("CodeOf(context.Canceled) = %v", c)
	}
	var se *Error
	if !errors.As(New(NotFound, "m"), &se) || se.StatusString() != "NOT_FOUND: m" {
		t.Errorf("New/StatusString")
	}
}
