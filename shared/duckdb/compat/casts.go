package compat

import (
	"fmt"
	"math"

	"strings"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/duckdb"
)

// castRule is one row of the §8 table.
type castRule struct {
	typ     analysis.DType
	lo, hi  float64
	bounded bool // hi applies
}

func ruleFor(name string) (castRule, bool) {
	suffix := func(s ...string) bool {
		for _, x := range s {
			if strings.HasSuffix(name, x) {
				return true
			}
		}
		return false
	}
	const max63 = 1<<63 - 1
	switch {
	case name == "ElapsedTime":
		return castRule{analysis.UInt64, 0, max63, true}, true
	case name == "ElapsedTime_Diff":
		return castRule{analysis.UInt64, 0, 31_536_000_000, true}, true
	case name == "EpochTime" || suffix("__EpochTime"):
		return castRule{analysis.Int64, 0, 4_102_444_800, true}, true
	case suffix("__CPUFrequency"):
		return castRule{analysis.UInt16, 0, 10_000, true}, true
	case suffix("__RSS", "__VMSize"):
		return castRule{analysis.UInt64, 0, max63, true}, true
	case suffix("__GPUMemMB", "__RSS_MB"):
		return castRule{analysis.Float32, 0, 1e6, true}, true
	case suffix("__Pages"):
		return castRule{analysis.UInt32, 0, 1<<32 - 1, true}, true
	case name == "NodePower" || suffix("__NodePower"):
		return castRule{analysis.Float32, 0, 10_000, true}, true
	case name == "CurrPower" || suffix("__CurrPower"):
		return castRule{analysis.Float32, 0, 10_000, true}, true
	case name == "Energy_Increment_J" || name == "Energy_used_J":
		return castRule{analysis.Float32, 0, 0, false}, true
	case name == "Energy" || suffix("__Energy"):
		return castRule{analysis.Float32, 0, 0, false}, true
	case suffix("__CPUUtilization", "__GPUUtilization"):
		return castRule{analysis.Float32, 0, 100, true}, true
	case suffix("__CPUUtilization_normalized"):
		return castRule{analysis.Float32, 0, 1, true}, true
	case suffix("__CPUTime"):
		return castRule{analysis.Float32, 0, 0, false}, true
	case suffix("__ReadMB", "__WriteMB"):
		return castRule{analysis.Float32, 0, 0, false}, true
	}
	return castRule{}, false
}

// float32Overflow is the smallest float64 that rounds to +Inf as float32
// (halfway between MaxFloat32 and 2^128). DuckDB refuses to cast values
// from there on, where Go and numpy give +Inf.
const float32Overflow = 3.4028235677973366e38

// castExpr is the §8 cast of the working value x (a DOUBLE expression).
// The range test comes first (NULL, NaN and infinities never pass);
// integers truncate toward zero (DuckDB's cast alone would round).
func castExpr(x string, r castRule) string {
	// BETWEEN with finite bounds is false for NULL, NaN (DuckDB orders NaN
	// above every number) and the infinities: one comparison per value.
	hi := math.MaxFloat64
	if r.bounded {
		hi = r.hi
	}
	switch r.typ {
	case analysis.Float64:
		return x
	case analysis.Float32:
		if !r.bounded {
			// DuckDB refuses to cast what rounds to +Inf as float32.
			below := math.Nextafter(float32Overflow, 0)
			return fmt.Sprintf("CASE WHEN %s BETWEEN %s AND %s THEN CAST(%s AS FLOAT) WHEN %s BETWEEN %s AND %s THEN CAST('Infinity' AS FLOAT) END",
				x, duckdb.SQLFloat(r.lo), duckdb.SQLFloat(below), x, x, duckdb.SQLFloat(float32Overflow), duckdb.SQLFloat(hi))
		}
		return fmt.Sprintf("CASE WHEN %s BETWEEN %s AND %s THEN CAST(%s AS FLOAT) END", x, duckdb.SQLFloat(r.lo), duckdb.SQLFloat(hi), x)
	}
	return fmt.Sprintf("CASE WHEN %s BETWEEN %s AND %s THEN CAST(trunc(%s) AS %s) END", x, duckdb.SQLFloat(r.lo), duckdb.SQLFloat(hi), x, r.typ.DuckDB())
}
