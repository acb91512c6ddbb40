package testenv

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// CompareCSV checks a table against an expected CSV of the original
// pipeline (header row, empty field for NULL): same columns, same rows in
// order, integers equal, floats within 1e-6 relative, NULL exactly where
// NULL. Values may be any Go integer or float type, or nil. It reports at
// most a few differences.
func CompareCSV(tb testing.TB, expectedCSV string, columns []string, rows [][]any) {
	tb.Helper()
	f, err := os.Open(expectedCSV)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	want, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", expectedCSV, err)
	}
	if len(want) == 0 {
		tb.Fatalf("%s is empty", expectedCSV)
	}
	if fmt.Sprint(want[0]) != fmt.Sprint(columns) {
		tb.Fatalf("columns %v\nwant %v", columns, want[0])
	}
	if len(rows) != len(want)-1 {
		tb.Fatalf("%d rows, want %d", len(rows), len(want)-1)
	}
	diffs := 0
	for i, row := range rows {
		for j, v := range row {
			if d := cellDiff(v, want[i+1][j]); d != "" {
				diffs++
				if diffs <= 5 {
					tb.Errorf("row %d column %s: %s", i, columns[j], d)
				}
			}
		}
	}
	if diffs > 5 {
		tb.Errorf("... %d differences in all", diffs)
	}
}

// cellDiff describes how v differs from the expected text, or "".
func cellDiff(v any, text string) string {
	if text == "" {
		if v != nil {
			return fmt.Sprintf("got %v, want NULL", v)
		}
		return ""
	}
	if v == nil {
		return "got NULL, want " + text
	}
	switch x := v.(type) {
	case float32:
		return floatDiff(float64(x), text)
	case float64:
		return floatDiff(x, text)
	case string: // a value read back from CSV
		if x == "" {
			return "got NULL, want " + text
		}
		if g, err := strconv.ParseFloat(x, 64); err == nil && strings.ContainsAny(x+text, ".eEn") {
			return floatDiff(g, text)
		}
	}
	got := fmt.Sprint(v)
	if got != text {
		// An integer column whose expected text is a float with no
		// fraction (e.g. "2300.0") still compares by value.
		if w, err := strconv.ParseFloat(text, 64); err == nil {
			if g, err := strconv.ParseFloat(got, 64); err == nil && g == w {
				return ""
			}
		}
		return fmt.Sprintf("got %s, want %s", got, text)
	}
	return ""
}

func floatDiff(got float64, text string) string {
	want, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return fmt.Sprintf("expected %q is not a number", text)
	}
	if got == want || (math.IsNaN(got) && math.IsNaN(want)) {
		return ""
	}
	if math.Abs(got-want) <= 1e-6*math.Max(math.Abs(got), math.Abs(want)) {
		return ""
	}
	return fmt.Sprintf("got %v, want %v", got, want)
}
