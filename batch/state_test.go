package batch

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStateReplaysAndCutsATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.batches")
	st, err := openState(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)
	for _, e := range []entry{
		{Op: "intent", Seq: 1, At: at, IDs: []string{"a", "b"}},
		{Op: "created", Seq: 1, Batch: "msgbatch_1"},
		{Op: "intent", Seq: 2, At: at, IDs: []string{"c"}},
		{Op: "refused", Seq: 2},
		{Op: "intent", Seq: 3, At: at, IDs: []string{"c"}},
		{Op: "done", ID: "a"},
	} {
		if err := st.record(e, true); err != nil {
			t.Fatal(err)
		}
	}
	st.close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"op":"done","id":"b"`) // torn
	f.Close()

	st, err = openState(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if !st.done["a"] || st.done["b"] {
		t.Errorf("done = %v, want a only (b's line was torn)", st.done)
	}
	if st.submitted["a"] != 1 || st.submitted["c"] != 1 {
		t.Errorf("submitted = %v, want a:1 c:1 (the refused intent does not count)", st.submitted)
	}
	if sub := st.submissions[3]; sub.settled() {
		t.Errorf("intent 3 has no answer, yet settled")
	}
	if st.byBatch["msgbatch_1"] == nil || st.seq != 3 {
		t.Errorf("byBatch %v, seq %d", st.byBatch, st.seq)
	}
	// Appending after the cut continues the journal on a whole line.
	if err := st.record(entry{Op: "done", ID: "b"}, true); err != nil {
		t.Fatal(err)
	}
	st.close()
	st, err = openState(path)
	if err != nil {
		t.Fatal(err)
	}
	if !st.done["b"] {
		t.Error("b not done after the second append")
	}
	st.close()
}

func TestStateRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.batches")
	os.WriteFile(path, []byte("{\"op\":\"intent\",\"seq\":1}\nnot json\n"), 0o644)
	if _, err := openState(path); !errors.Is(err, ErrState) {
		t.Fatalf("err = %v, want ErrState", err)
	}
	os.WriteFile(path, []byte("{\"op\":\"created\",\"seq\":7,\"batch\":\"x\"}\n"), 0o644)
	if _, err := openState(path); !errors.Is(err, ErrState) {
		t.Fatalf("created without intent: err = %v, want ErrState", err)
	}
}

func FuzzStateReplay(f *testing.F) {
	f.Add([]byte("{\"op\":\"intent\",\"seq\":1,\"ids\":[\"a\"]}\n{\"op\":\"created\",\"seq\":1,\"batch\":\"b\"}\n{\"op\":\"done\",\"id\":\"a\"}\n"))
	f.Add([]byte("{\"op\":\"refused\",\"seq\":1}\n"))
	f.Add([]byte("{\"op\":\"intent\",\"seq\":-1}\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newState()
		n, err := s.replay(data)
		if n < 0 || n > len(data) {
			t.Fatalf("replayed %d of %d bytes", n, len(data))
		}
		if err == nil && n < len(data) && data[len(data)-1] == '\n' {
			t.Fatalf("whole lines left unread without an error")
		}
		for id, c := range s.submitted {
			if c < 0 {
				t.Fatalf("item %s submitted %d times", id, c)
			}
		}
	})
}
