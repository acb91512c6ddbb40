package devserver

import (
	"os"
	"strings"
	"testing"
)

// The deps script builds the MinIO binary this package looks for; the two
// must name the same version.
func TestDepsScriptBuildsThisMinIOVersion(t *testing.T) {
	b, err := os.ReadFile("../../cmd/scripts/deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "MINIO_VERSION="+MinIOVersion+"\n") {
		t.Fatalf("cmd/scripts/deps.sh does not build MinIO %s", MinIOVersion)
	}
}
