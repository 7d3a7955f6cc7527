package tokencount

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoVocabularyDependency checks that the package does not link tiktoken-go or its
// embedded vocabularies: only programs that import tokencount/bpe pay for them.
func TestNoVocabularyDependency(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "tiktoken") {
			t.Errorf("tokencount depends on %s; want no BPE vocabulary outside tokencount/bpe", dep)
		}
	}
}
