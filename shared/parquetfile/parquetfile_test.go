package parquetfile

import (
	"bytes"
	"math"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, []Column{{Name: "zeta"}, {Name: "name", Text: true}, {Name: "alpha"}})
	if err != nil {
		t.Fatal(err)
	}
	in := [][]any{{1.5, "a", nil}, {math.NaN(), nil, -2.0}, {3.0, "c,\"d\"", 1e300}}
	for _, r := range in {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Zeta  *float64 `parquet:"zeta,optional"`
		Name  *string  `parquet:"name,optional"`
		Alpha *float64 `parquet:"alpha,optional"`
	}
	got, err := parquet.Read[row](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || *got[0].Zeta != 1.5 || *got[0].Name != "a" || got[0].Alpha != nil ||
		got[1].Zeta != nil || got[1].Name != nil || *got[1].Alpha != -2 || *got[2].Name != "c,\"d\"" || *got[2].Alpha != 1e300 {
		t.Fatalf("%+v", got)
	}
	if _, err := NewWriter(&buf, []Column{{Name: "a"}, {Name: "a"}}); err == nil {
		t.Error("duplicate column accepted")
	}
}
