package compat

import (
	"math"
	"strings"

	"github.com/benchwrap/backend/shared/analysis"
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

// caster is the §8 cast of a working value (float64): the range test
// comes first (NULL, NaN and the infinities never pass); integers
// truncate toward zero; float32 rounds to nearest, and what rounds beyond
// MaxFloat32 becomes +Inf (an unbounded column's finite values only).
type caster struct {
	kind   castKind
	lo, hi float64
}

type castKind uint8

const (
	castNone castKind = iota // Float64: the value as it is
	castFloat32
	castInteger
)

func newCaster(r castRule, ok bool) caster {
	if !ok || r.typ == analysis.Float64 {
		return caster{}
	}
	c := caster{kind: castInteger, lo: r.lo, hi: math.MaxFloat64}
	if r.bounded {
		c.hi = r.hi
	}
	if r.typ == analysis.Float32 {
		c.kind = castFloat32
	}
	return c
}

// apply casts v (ok false for NULL); the result as float64 is exact for
// the column's type.
func (c caster) apply(v float64, ok bool) (float64, bool) {
	switch {
	case !ok:
		return 0, false
	case c.kind == castNone:
		return v, true
	case !(v >= c.lo && v <= c.hi):
		return 0, false
	case c.kind == castFloat32:
		return float64(float32(v)), true
	}
	return math.Trunc(v), true
}
