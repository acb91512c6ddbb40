package testenv

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcStatusBytes reads a size field of /proc/<pid>/status ("VmHWM" for
// the peak resident set, "VmRSS" for the current one) in bytes; pid 0 is
// this process. Linux only: elsewhere the error says there is no /proc.
func ProcStatusBytes(pid int, field string) (int64, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s %s %q: %w", path, field, v, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s has no %s", path, field)
}

// ResetPeakRSS starts a new measurement of this process's VmHWM (Linux).
func ResetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }
