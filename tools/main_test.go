package tools

import (
	"flag"
	"os"
	"testing"
)

// TestMain: with -update every schema is inferred from its spec, not read
// from schemas_gen.go (which the same run rewrites), so that the golden
// files written in one run show the specs as they are now.
func TestMain(m *testing.M) {
	flag.Parse()
	inferSchemas = *update
	os.Exit(m.Run())
}
