package loadgen

import (
	"fmt"
	"strconv"
	"strings"
)

// StatusSet is a set of HTTP status codes (0..599) counted as OK.
type StatusSet [10]uint64

// ParseStatusSet parses a comma-separated list of codes ("200,201"),
// classes ("2xx") and ranges ("200-299").
func ParseStatusSet(s string) (StatusSet, error) {
	var set StatusSet
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi := 0, 0
		switch {
		case part == "":
			continue
		case len(part) == 3 && strings.EqualFold(part[1:], "xx") && part[0] >= '1' && part[0] <= '5':
			lo = int(part[0]-'0') * 100
			hi = lo + 99
		case strings.Contains(part, "-"):
			a, b, _ := strings.Cut(part, "-")
			var err1, err2 error
			lo, err1 = strconv.Atoi(strings.TrimSpace(a))
			hi, err2 = strconv.Atoi(strings.TrimSpace(b))
			if err1 != nil || err2 != nil || lo > hi {
				return set, fmt.Errorf("bad status range %q", part)
			}
		default:
			n, err := strconv.Atoi(part)
			if err != nil {
				return set, fmt.Errorf("bad status code %q", part)
			}
			lo, hi = n, n
		}
		if lo < 100 || hi > 599 {
			return set, fmt.Errorf("status %q out of range 100-599", part)
		}
		for c := lo; c <= hi; c++ {
			set[c/64] |= 1 << (c % 64)
		}
	}
	if set == (StatusSet{}) {
		return set, fmt.Errorf("empty status set %q", s)
	}
	return set, nil
}

// StatusOK returns the default set: 200 only, as the original tool.
func StatusOK() StatusSet {
	var set StatusSet
	set[200/64] |= 1 << (200 % 64)
	return set
}

// Has reports whether code is in the set.
func (s *StatusSet) Has(code int) bool {
	return code >= 0 && code < 640 && s[code/64]&(1<<(code%64)) != 0
}

// String lists the set compactly, e.g. "200,201,300-399".
func (s StatusSet) String() string {
	var parts []string
	for c := 0; c < 600; c++ {
		if !s.Has(c) {
			continue
		}
		end := c
		for end+1 < 600 && s.Has(end+1) {
			end++
		}
		if end == c {
			parts = append(parts, strconv.Itoa(c))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", c, end))
		}
		c = end
	}
	return strings.Join(parts, ",")
}
