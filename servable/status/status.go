// Package status carries TensorFlow-style status codes through tfserve.
//
// Codes have the numbers of tensorflow::error::Code (which are also the gRPC
// status codes), print as TensorFlow prints them ("INVALID_ARGUMENT"), and map
// to HTTP statuses exactly as TF Serving's REST server does
// (model_servers/http_server.cc ToHTTPStatusCode).
package status

import (
	"context"
	"errors"
	"fmt"
)

// Code is a tensorflow::error::Code (equal to the gRPC code number).
type Code int

// Status codes, numbered as tensorflow/core/protobuf/error_codes.proto.
const (
	OK                 Code = 0
	Cancelled          Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

var codeNames = [...]string{
	OK: "OK", Cancelled: "CANCELLED", Unknown: "UNKNOWN", InvalidArgument: "INVALID_ARGUMENT",
	DeadlineExceeded: "DEADLINE_EXCEEDED", NotFound: "NOT_FOUND", AlreadyExists: "ALREADY_EXISTS",
	PermissionDenied: "PERMISSION_DENIED", ResourceExhausted: "RESOURCE_EXHAUSTED",
	FailedPrecondition: "FAILED_PRECONDITION", Aborted: "ABORTED", OutOfRange: "OUT_OF_RANGE",
	Unimplemented: "UNIMPLEMENTED", Internal: "INTERNAL", Unavailable: "UNAVAILABLE",
	DataLoss: "DATA_LOSS", Unauthenticated: "UNAUTHENTICATED",
}

// String returns the code's name as TensorFlow and absl print it, e.g.
// "INVALID_ARGUMENT". This is also the value of status.error_code in
// GetModelStatus responses.
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("UNKNOWN_CODE_%d", int(c))
}

// ParseCode is the inverse of Code.String.
func ParseCode(s string) (Code, bool) {
	for i, n := range codeNames {
		if n == s {
			return Code(i), true
		}
	}
	return Unknown, false
}

// HTTPStatus maps a code to the HTTP status TF Serving's REST server answers
// with.
func HTTPStatus(c Code) int {
	switch c {
	case OK:
		return 200
	case Cancelled:
		return 499 // CLIENT_CLOSED_REQUEST
	case InvalidArgument, FailedPrecondition, OutOfRange:
		return 400
	case DeadlineExceeded:
		return 504
	case NotFound:
		return 404
	case AlreadyExists, Aborted:
		return 409
	case PermissionDenied:
		return 403
	case ResourceExhausted:
		return 429
	case Unimplemented:
		return 501
	case Unavailable:
		return 503
	case Unauthenticated:
		return 401
	}
	return 500 // Unknown, Internal, DataLoss and anything else
}

// Error is an error with a status code. Error() returns only the message, as
// TF Serving puts only the message into {"error": ...}.
type Error struct {
	Code Code
	Msg  string
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

// StatusString formats the error as absl::Status::ToString does:
// "INVALID_ARGUMENT: message". TF Serving embeds this form when it wraps one
// status inside another's message.
func (e *Error) StatusString() string { return e.Code.String() + ": " + e.Msg }

// New returns an error with the given code and message.
func New(c Code, msg string) error { return &Error{Code: c, Msg: msg} }

// Errorf returns an error with the given code and a formatted message.
func Errorf(c Code, format string, args ...any) error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code carried by err (found with errors.As): OK for nil,
// DEADLINE_EXCEEDED and CANCELLED for the context package's errors, Unknown
// for another error without a code.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var se *Error
	switch {
	case errors.As(err, &se):
		return se.Code
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return Cancelled
	}
	return Unknown
}

// StatusString formats any error as absl::Status::ToString would: "CODE: msg"
// ("OK" for nil; errors without a code are UNKNOWN).
func StatusString(err error) string {
	if err == nil {
		return "OK"
	}
	return CodeOf(err).String() + ": " + err.Error()
}
