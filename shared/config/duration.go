package config

import (
	"fmt"
	"strconv"
	"time"
)

// Duration reads either whole seconds ("600") or a Go duration ("10m"),
// as OpenFaaS's own settings do.
type Duration time.Duration

// Decode implements envconfig.Decoder.
func (d *Duration) Decode(v string) error {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	p, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is neither seconds nor a duration like 10m", v)
	}
	*d = Duration(p)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
