package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// updateGolden rewrites the golden files under testdata instead of
// comparing with them: go test ./cmd/ratekeeper -run 'Tiers|Headers' -update.
var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// assertGolden compares got with testdata/name, or rewrites the file under
// -update.
func assertGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}

// runCmd runs the command line args with stdin and returns its stdout,
// stderr and error.
func runCmd(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = run(context.Background(), args, strings.NewReader(stdin), &o, &e)
	return o.String(), e.String(), err
}

// assertHelp checks that `CMD --help` exits 0 and shows every string of
// wants (its flags and its input format).
func assertHelp(t *testing.T, cmd string, wants ...string) {
	t.Helper()
	out, _, err := runCmd(t, "", cmd, "--help")
	if err != nil {
		t.Fatalf("%s --help: %v", cmd, err)
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s --help lacks %q:\n%s", cmd, w, out)
		}
	}
}

// assertUsageError checks that err maps to exit code 2 and says every
// string of wants.
func assertUsageError(t *testing.T, err error, wants ...string) {
	t.Helper()
	if exitCode(err) != exitUsage {
		t.Fatalf("error %v: exit code %d, want %d", err, exitCode(err), exitUsage)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}
