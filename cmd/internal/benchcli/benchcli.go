// Package benchcli is the set-up the bench-* commands share: the database
// flag and its check, a list-of-counts flag, and how a run ends the
// process.
package benchcli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/benchwrap/backend/testkit/devserver"
)

// ErrUsage marks an error in the command's arguments: Main exits with
// status 2 for it, as flag does.
var ErrUsage = errors.New("usage")

// Postgres registers --postgres, the database a benchmark writes to; its
// default is the one `bin/stack exec` provides.
func Postgres() *string {
	return flag.String("postgres", os.Getenv(devserver.EnvTestDatabaseURL), "PostgreSQL database (default: the one bin/stack exec provides)")
}

// NeedDatabase says how to get a database when --postgres is empty.
func NeedDatabase(url string) error {
	if url == "" {
		return errors.New("no database: run under `bin/stack exec` or give --postgres")
	}
	return nil
}

// Counts parses a comma-separated list of positive counts ("1,2,4").
func Counts(name, list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%w: --%s: comma-separated counts", ErrUsage, name)
		}
		out = append(out, n)
	}
	return out, nil
}

// Main parses the command line, runs the benchmark and ends the process:
// on an error, "<name>: <error>" on stderr and status 1 (2 for ErrUsage).
func Main(name string, run func() error) {
	flag.Parse()
	err := run()
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	if errors.Is(err, ErrUsage) {
		os.Exit(2)
	}
	os.Exit(1)
}
