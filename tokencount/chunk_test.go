package tokencount

import "testing"

// TestBPEChunkingExact checks that chunking at word boundaries does not change counts on
// ordinary text.
func TestBPEChunkingExact(t *testing.T) {
	enc, err := encoders[O200K]()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"prose", "code", "chinese", "minified-json-64kB"} {
		s := benchInputs()[name]
		if got, want := countBPE(enc, s), int64(len(enc.EncodeOrdinary(s))); got != want {
			t.Errorf("%s: countBPE = %d; tiktoken-go = %d", name, got, want)
		}
	}
}
