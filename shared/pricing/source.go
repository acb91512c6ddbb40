package pricing

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Source gives a time series covering [from, to]: prices in EUR/MWh, or
// for carbon sources intensities in g CO2e/kWh. A source may return less
// than asked for (the data it has); Cost and Carbon report the gaps.
type Source interface {
	Series(ctx context.Context, from, to time.Time) (*Series, error)
}

// Fixed is a constant tariff in EUR/kWh, valid at all times.
type Fixed struct{ EURPerKWh float64 }

func (f Fixed) Series(context.Context, time.Time, time.Time) (*Series, error) {
	if math.IsNaN(f.EURPerKWh) || math.IsInf(f.EURPerKWh, 0) {
		return nil, fmt.Errorf("pricing: fixed price %v is not a number", f.EURPerKWh)
	}
	return constant(f.EURPerKWh * 1000)
}

func (f Fixed) String() string {
	return "fixed:" + strconv.FormatFloat(f.EURPerKWh, 'g', -1, 64) + " EUR/kWh"
}

// Constant is a constant value in the series' unit (EUR/MWh for prices,
// g CO2e/kWh for carbon), valid at all times.
type Constant struct{ Value float64 }

func (c Constant) Series(context.Context, time.Time, time.Time) (*Series, error) {
	if math.IsNaN(c.Value) || math.IsInf(c.Value, 0) {
		return nil, fmt.Errorf("pricing: constant %v is not a number", c.Value)
	}
	return constant(c.Value)
}

func (c Constant) String() string { return "fixed:" + strconv.FormatFloat(c.Value, 'g', -1, 64) }

func constant(v float64) (*Series, error) {
	return NewSeries([]Interval{{Start: math.Inf(-1), End: math.Inf(1), Value: v}})
}

// CSVFile reads prices from a file of lines "epoch_seconds,eur_per_mwh",
// with an optional header line. Each price holds from its time until the
// next line's; the last one for as long as the one before it did (a file
// of one line holds from its time on). Times must increase strictly.
// Blank and unparsable lines are errors naming the line.
type CSVFile struct{ Path string }

func (f CSVFile) Series(ctx context.Context, _, _ time.Time) (*Series, error) {
	return readCSV(f.Path, "price")
}

func (f CSVFile) String() string { return "file:" + f.Path }

// CarbonFile reads carbon intensities from a file of lines
// "epoch_seconds,g_co2_per_kwh", read as CSVFile reads prices.
type CarbonFile struct{ Path string }

func (f CarbonFile) Series(ctx context.Context, _, _ time.Time) (*Series, error) {
	return readCSV(f.Path, "carbon intensity")
}

func (f CarbonFile) String() string { return "file:" + f.Path }

func readCSV(path, what string) (*Series, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pricing: %s file: %w", what, err)
	}
	defer fh.Close()
	var times, values []float64
	sc := bufio.NewScanner(fh)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		bad := func(format string, a ...any) error {
			return fmt.Errorf("pricing: %s file %s line %d: %s", what, path, line, fmt.Sprintf(format, a...))
		}
		if text == "" {
			return nil, bad("blank line")
		}
		fields := strings.Split(text, ",")
		if len(fields) != 2 {
			return nil, bad("want 2 comma-separated fields, got %d", len(fields))
		}
		t, terr := strconv.ParseFloat(strings.TrimSpace(fields[0]), 64)
		v, verr := strconv.ParseFloat(strings.TrimSpace(fields[1]), 64)
		if line == 1 && terr != nil && verr != nil {
			continue // header
		}
		switch {
		case terr != nil || math.IsNaN(t) || math.IsInf(t, 0):
			return nil, bad("time %q is not a number of seconds", fields[0])
		case verr != nil || math.IsNaN(v) || math.IsInf(v, 0):
			return nil, bad("value %q is not a number", fields[1])
		case len(times) > 0 && t <= times[len(times)-1]:
			return nil, bad("time %v is not after the previous line's", t)
		}
		times = append(times, t)
		values = append(values, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pricing: %s file %s: %w", what, path, err)
	}
	n := len(times)
	if n == 0 {
		return nil, fmt.Errorf("pricing: %s file %s has no data", what, path)
	}
	end := math.Inf(1)
	if n > 1 {
		end = times[n-1] + (times[n-1] - times[n-2])
	}
	return StepSeries(times, values, end)
}

// Parse reads a price source setting (a flag or an environment variable):
//
//	""  or "off"            pricing off (nil source)
//	smard                   SMARD day-ahead prices, region DE-LU
//	smard:REGION            another SMARD region, e.g. smard:AT
//	smard:REGION:RES        and resolution (quarterhour or hour)
//	file:PATH               a CSVFile
//	fixed:0.30              a Fixed tariff in EUR/kWh
//
// cache keeps SMARD blocks (nil: none).
func Parse(spec string, cache BlockCache) (Source, error) {
	if kind, arg, hasArg := strings.Cut(strings.TrimSpace(spec), ":"); strings.EqualFold(kind, "smard") {
		s := &SMARD{Cache: cache}
		if hasArg {
			region, res, _ := strings.Cut(arg, ":")
			s.Region, s.Resolution = region, res
		}
		if _, err := s.config(); err != nil {
			return nil, err
		}
		return s, nil
	}
	return parseSetting(spec, setting{
		name: "price", what: "price", forms: "off, smard[:REGION[:RESOLUTION]], file:PATH or fixed:EUR_PER_KWH",
		file:  func(path string) Source { return CSVFile{Path: path} },
		fixed: func(v float64) Source { return Fixed{EURPerKWh: v} },
	})
}

// ParseCarbon reads a carbon intensity setting: "" or "off" (none),
// file:PATH (a CarbonFile) or fixed:G (a Constant in g CO2e/kWh).
func ParseCarbon(spec string) (Source, error) {
	return parseSetting(spec, setting{
		name: "carbon", what: "carbon intensity", forms: "off, file:PATH or fixed:G_CO2_PER_KWH",
		file:  func(path string) Source { return CarbonFile{Path: path} },
		fixed: func(v float64) Source { return Constant{Value: v} },
	})
}

// setting is one kind of source setting: the sources its file: and
// fixed: forms make, and the words of its errors.
type setting struct {
	name  string // "<name> source": the setting
	what  string // what its values are
	forms string // the forms it takes, for the error
	file  func(path string) Source
	fixed func(v float64) Source
}

// parseSetting reads the forms every setting takes: "" or "off" (nil
// source), file:PATH and fixed:NUMBER.
func parseSetting(spec string, k setting) (Source, error) {
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(spec), ":")
	switch strings.ToLower(kind) {
	case "", "off":
		if !hasArg {
			return nil, nil
		}
	case "file":
		if err := checkFile(arg); err != nil {
			return nil, fmt.Errorf("pricing: %s %w", k.what, err)
		}
		return k.file(arg), nil
	case "fixed":
		v, err := parseNumber(arg)
		if err != nil {
			return nil, fmt.Errorf("pricing: fixed %s %q: %w", k.what, arg, err)
		}
		return k.fixed(v), nil
	}
	return nil, fmt.Errorf("pricing: %s source %q: want %s", k.name, spec, k.forms)
}

func checkFile(path string) error {
	if path == "" {
		return errors.New("file: no path")
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("file: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("file %s is a directory", path)
	}
	return nil
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("not a number")
	}
	return v, nil
}
