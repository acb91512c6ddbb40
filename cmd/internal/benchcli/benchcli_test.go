package benchcli

import (
	"errors"
	"slices"
	"testing"
)

func TestCounts(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"1,2,4", []int{1, 2, 4}},
		{"8", []int{8}},
		{" 1, 3 ", []int{1, 3}},
		{"0", nil},
		{"1,,2", nil},
		{"two", nil},
		{"", nil},
	} {
		got, err := Counts("workers", c.in)
		if c.want == nil {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("Counts(%q) = %v, %v; want a usage error", c.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Counts(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestNeedDatabase(t *testing.T) {
	if NeedDatabase("") == nil || NeedDatabase("postgres://127.0.0.1/x") != nil {
		t.Error("NeedDatabase refuses only an empty URL")
	}
}
