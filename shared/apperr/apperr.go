// Package apperr is the error type the domain packages return when the
// caller did something wrong or a dependency failed. It carries a code the
// HTTP layer maps to a status, a message that is safe to show to the client,
// and an internal cause that only goes to the log.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error; each maps to one HTTP status.
type Code int

const (
	Internal       Code = iota // 500
	Invalid                    // 422: a field breaks the rules
	BadRequest                 // 400: a request that cannot be used
	Unauthorized               // 401
	Forbidden                  // 403
	NotFound                   // 404
	Conflict                   // 409
	TooLarge                   // 413
	TooMany                    // 429
	Unavailable                // 503: a dependency is down; retry later
	NotImplemented             // 501
)

// Error is a coded error with a public message.
type Error struct {
	Code       Code
	Message    string        // shown to the client as {"detail": Message}
	RetryAfter time.Duration // for TooMany and Unavailable; 0 when unknown
	Cause      error         // logged, never shown
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Cause)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns an error with a code and a public message.
func New(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Wrap returns an error with a code and public message that keeps cause
// for the log.
func Wrap(code Code, msg string, cause error) *Error {
	return &Error{Code: code, Message: msg, Cause: cause}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns err's code; Internal for uncoded errors.
func CodeOf(err error) Code {
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}
