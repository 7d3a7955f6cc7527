package batch

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ratekeeper/ratekeeper/tokencount"
)

func items(t *testing.T, n, promptBytes int) []item {
	t.Helper()
	var out []item
	for i := range n {
		p := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":%q}]}`, fmt.Sprintf("%0*d", promptBytes, i))
		enc, err := encode(Request{CustomID: fmt.Sprintf("r%d", i), Params: json.RawMessage(p)})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, item{index: i, id: fmt.Sprintf("r%d", i), enc: enc})
	}
	return out
}

func TestBodyIsTheItems(t *testing.T) {
	its := items(t, 3, 5)
	var got struct {
		Requests []struct {
			CustomID string          `json:"custom_id"`
			Params   json.RawMessage `json:"params"`
		} `json:"requests"`
	}
	b := body(its)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	if len(got.Requests) != 3 || got.Requests[2].CustomID != "r2" {
		t.Fatalf("body %s", b)
	}
}

func TestTakeStopsAtEitherLimit(t *testing.T) {
	its := items(t, 10, 100)
	if n := take(its, 4, tokencount.MaxBatchBytes); n != 4 {
		t.Errorf("by count: took %d, want 4", n)
	}
	// The body of the first k items must fit exactly: take the largest k.
	for k := 1; k <= 10; k++ {
		limit := int64(len(body(its[:k])))
		if n := take(its, 100, limit); n != k {
			t.Errorf("bytes limit %d (the body of %d items): took %d", limit, k, n)
		}
		if n := take(its, 100, limit-1); n != k-1 {
			t.Errorf("bytes limit %d (one byte short of %d items): took %d", limit-1, k, n)
		}
	}
}

func TestEncodeCompactsParams(t *testing.T) {
	enc, err := encode(Request{CustomID: "a", Params: json.RawMessage("{\n \"x\": 1\n}")})
	if err != nil {
		t.Fatal(err)
	}
	if string(enc) != `{"custom_id":"a","params":{"x":1}}` {
		t.Fatalf("encoded %s", enc)
	}
}
