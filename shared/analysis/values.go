package analysis

import "math"

// The readers of a RowSource's values (COPY, exports, levels, prices) take
// numbers through these, so every kind a source may give is read alike.

// Int is a row value as an int64, when it is a whole number in range.
func Int(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint8:
		return int64(x), true
	case int8:
		return int64(x), true
	case float64:
		return int64(x), x == math.Trunc(x) && x >= -(1<<63) && x < 1<<63
	case float32:
		return int64(x), float64(x) == math.Trunc(float64(x)) && x >= -(1<<63) && x < 1<<63
	}
	return 0, false
}

// Float is a row value as a float64, when it is a number (not NULL).
func Float(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	if n, ok := Int(v); ok {
		return float64(n), true
	}
	return 0, false
}

// Number is Float with NaN for NULL and for what is not a number.
func Number(v any) float64 {
	if f, ok := Float(v); ok {
		return f
	}
	return math.NaN()
}
