package analysis

import (
	"math"
	"testing"
)

func TestRowValues(t *testing.T) {
	for _, c := range []struct {
		v     any
		i     int64
		iok   bool
		f     float64
		fok   bool
		descr string
	}{
		{int64(-3), -3, true, -3, true, "int64"},
		{uint16(7), 7, true, 7, true, "uint16"},
		{uint32(1 << 31), 1 << 31, true, 1 << 31, true, "uint32"},
		{uint64(math.MaxUint64), 0, false, math.MaxUint64, true, "uint64 beyond int64"},
		{2.5, 0, false, 2.5, true, "fractional float64"},
		{float32(4), 4, true, 4, true, "whole float32"},
		{math.Inf(1), 0, false, math.Inf(1), true, "infinity"},
		{nil, 0, false, 0, false, "NULL"},
		{"12", 0, false, 0, false, "text"},
	} {
		i, iok := Int(c.v)
		if iok != c.iok || (iok && i != c.i) {
			t.Errorf("Int(%s) = %d, %v; want %d, %v", c.descr, i, iok, c.i, c.iok)
		}
		f, fok := Float(c.v)
		if fok != c.fok || (fok && f != c.f) {
			t.Errorf("Float(%s) = %v, %v; want %v, %v", c.descr, f, fok, c.f, c.fok)
		}
		if n := Number(c.v); c.fok != !math.IsNaN(n) {
			t.Errorf("Number(%s) = %v", c.descr, n)
		}
	}
}
