package tier

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/headers")

const headersDir = "../testdata/headers"

// goldenResult is what a golden file records for one capture: the present
// parts of the Observation, keyed by name, and the parsed error body.
type goldenResult struct {
	Status       int
	Limits       map[string]goldenDim `json:",omitempty"`
	RetryAfter   string               `json:",omitempty"`
	RequestID    string               `json:",omitempty"`
	WorkspaceID  string               `json:",omitempty"`
	HeaderErrors []HeaderProblem      `json:",omitempty"`
	APIError     *goldenAPIError      `json:",omitempty"`
	BodyError    string               `json:",omitempty"`
}

type goldenDim struct {
	Limit     int64
	Remaining int64
	Reset     string `json:",omitempty"`
	Rounded   bool   `json:",omitempty"`
}

type goldenAPIError struct {
	Type, Code, RequestID             string `json:",omitempty"`
	SpendLimit, InsufficientQuota     bool   `json:",omitempty"`
	TooLarge, Overloaded, RateLimited bool   `json:",omitempty"`
	RetryHint                         string `json:",omitempty"`
	Dimension                         string `json:",omitempty"`
	Limit, Used, Requested            int64  `json:",omitempty"`
}

func summarize(status int, o Observation, herr error, ae *APIError, berr error) goldenResult {
	g := goldenResult{Status: status, RequestID: o.RequestID, WorkspaceID: o.WorkspaceID, Limits: map[string]goldenDim{}}
	add := func(name string, d DimensionObservation) {
		if !d.Present {
			return
		}
		gd := goldenDim{Limit: d.Limit, Remaining: d.Remaining, Rounded: d.Rounded}
		if !d.Reset.IsZero() {
			gd.Reset = d.Reset.UTC().Format(time.RFC3339Nano)
		}
		g.Limits[name] = gd
	}
	for d := range NumDimensions {
		add(d.String(), o.Dims[d])
		add("project_"+d.String(), o.Project[d])
	}
	add("tokens", o.Tokens)
	add("priority_input_tokens", o.Priority.Input)
	add("priority_output_tokens", o.Priority.Output)
	add("tokens_usage_based", o.UsageBasedTokens)
	if o.HasRetryAfter {
		g.RetryAfter = o.RetryAfter.String()
	}
	var he *HeaderError
	if errors.As(herr, &he) {
		g.HeaderErrors = he.Problems
	}
	if ae != nil {
		g.APIError = &goldenAPIError{Type: ae.Type, Code: ae.Code, RequestID: ae.RequestID, SpendLimit: ae.SpendLimit,
			InsufficientQuota: ae.InsufficientQuota, TooLarge: ae.TooLarge, Overloaded: ae.Overloaded(), RateLimited: ae.RateLimited(),
			Limit: ae.Limit, Used: ae.Used, Requested: ae.Requested}
		if ae.RetryHint != 0 {
			g.APIError.RetryHint = ae.RetryHint.String()
		}
		if ae.HasDimension {
			g.APIError.Dimension = ae.Dimension.String()
		}
	}
	if berr != nil {
		g.BodyError = berr.Error()
	}
	return g
}

func parseCapture(t *testing.T, path string) goldenResult {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := http.ReadResponse(bufio.NewReader(f), nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	now, err := http.ParseTime(res.Header.Get("Date"))
	if err != nil {
		t.Fatalf("%s: Date header: %v", path, err)
	}
	provider := Provider(strings.SplitN(filepath.Base(path), "-", 2)[0])
	obs, herr := ParseHeaders(provider, res.Header, now)
	var ae *APIError
	var berr error
	if res.StatusCode >= 400 {
		ae, berr = ParseErrorBody(provider, res.StatusCode, body)
	}
	return summarize(res.StatusCode, obs, herr, ae, berr)
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(headersDir, "*.http"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in %s: %v", headersDir, err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".http")
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(parseCapture(t, path), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join(headersDir, name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (-want +got):\n%s", path, golden, cmp.Diff(string(want), string(got)))
			}
		})
	}
}
