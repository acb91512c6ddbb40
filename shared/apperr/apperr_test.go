package apperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestWrapKeepsCausePrivate(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.1:5432: connection refused")
	err := fmt.Errorf("saving run: %w", Wrap(Unavailable, "Service temporarily unavailable.", cause))

	e, ok := As(err)
	if !ok {
		t.Fatal("As did not find the coded error through a wrap")
	}
	if e.Message != "Service temporarily unavailable." {
		t.Errorf("public message = %q", e.Message)
	}
	if !errors.Is(err, cause) {
		t.Error("the cause is not in the chain")
	}
	if CodeOf(err) != Unavailable {
		t.Errorf("CodeOf = %v, want Unavailable", CodeOf(err))
	}
}

func TestCodeOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Code
	}{
		{New(NotFound, "No such job."), NotFound},
		{fmt.Errorf("ctx: %w", New(TooMany, "Slow down.")), TooMany},
		{errors.New("plain"), Internal},
		{nil, Internal},
	} {
		if got := CodeOf(tc.err); got != tc.want {
			t.Errorf("CodeOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestErrorText(t *testing.T) {
	if got := New(BadRequest, "Bad key.").Error(); got != "Bad key." {
		t.Errorf("without cause: %q", got)
	}
	if got := Wrap(Internal, "Oops.", errors.New("boom")).Error(); got != "Oops.: boom" {
		t.Errorf("with cause: %q", got)
	}
}
