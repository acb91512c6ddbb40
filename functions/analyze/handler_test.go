package function

import (
	"testing"

	"github.com/benchwrap/backend/shared/testenv"
)

func TestRefusesOtherMethods(t *testing.T) {
	if r := testenv.Call(t, Handle, "GET", "", ""); r.Status != 405 {
		t.Fatalf("GET: %d %s", r.Status, r.Raw)
	}
}
