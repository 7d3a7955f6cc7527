package batch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// The state file is a journal: one JSON object per line, appended and
// synced before the step it records has consequences. Replaying it gives
// what a resumed Runner must know: the batches it submitted (by ID), the
// submissions whose answer it never saw, how often each item was
// submitted, the items whose results were delivered, and the batches whose
// results were read to the end.
//
//	{"op":"intent","seq":3,"at":"2026-12-02T16:00:00Z","ids":["a","b"]}   before a create is sent
//	{"op":"created","seq":3,"batch":"msgbatch_…"}                         the create's answer, or an adopted batch
//	{"op":"refused","seq":3}                                              the create was answered with a refusal: nothing was submitted
//	{"op":"done","id":"a"}                                                a's final result was delivered
//	{"op":"retrieved","batch":"msgbatch_…"}                               every result of the batch was handled
type entry struct {
	Op    string    `json:"op"`
	Seq   int       `json:"seq,omitempty"`
	At    time.Time `json:"at,omitzero"`
	IDs   []string  `json:"ids,omitempty"`
	Batch string    `json:"batch,omitempty"`
	ID    string    `json:"id,omitempty"`
}

// submission is one create: the items it carried and, once known, the
// batches that hold them (one, or several adopted candidates).
type submission struct {
	seq     int
	at      time.Time
	ids     []string
	batches []string
	refused bool

	set      map[string]bool // ids, built when first asked
	returned map[string]bool // the ids its batches returned (this process)
}

// carries reports whether the submission carried id.
func (s *submission) carries(id string) bool {
	if s.set == nil {
		s.set = make(map[string]bool, len(s.ids))
		for _, x := range s.ids {
			s.set[x] = true
		}
	}
	return s.set[id]
}

// settled says whether the submission's fate is known.
func (s *submission) settled() bool { return s.refused || len(s.batches) > 0 }

// state is the replayed journal, and the file it appends to.
type state struct {
	file *os.File // nil: in memory only
	w    *bufio.Writer

	seq         int
	submissions map[int]*submission
	order       []int          // seqs in journal order
	submitted   map[string]int // item → times submitted (intents that carried it and were not refused)
	done        map[string]bool
	retrieved   map[string]bool
	byBatch     map[string]*submission
}

func newState() *state {
	return &state{submissions: map[int]*submission{}, submitted: map[string]int{},
		done: map[string]bool{}, retrieved: map[string]bool{}, byBatch: map[string]*submission{}}
}

// openState replays the journal at path (creating it if need be) and opens
// it for appending. A torn last line (a crash mid-write) is cut off; any
// other line that does not parse is an error naming it.
func openState(path string) (*state, error) {
	s := newState()
	if path == "" {
		return s, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("batch: state file: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("batch: state file: %w", err)
	}
	good, err := s.replay(data)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("batch: state file %s: %w", path, err)
	}
	if good < len(data) {
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return nil, fmt.Errorf("batch: state file: %w", err)
		}
	}
	if _, err := f.Seek(int64(good), io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("batch: state file: %w", err)
	}
	s.file, s.w = f, bufio.NewWriter(f)
	return s, nil
}

// ErrState is what a state file that is not a batch journal matches.
var ErrState = errors.New("batch: malformed state file")

// replay applies the journal's entries and returns the length of its
// whole lines.
func (s *state) replay(data []byte) (int, error) {
	off := 0
	for n := 1; off < len(data); n++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return off, nil // torn: the last write did not finish
		}
		var e entry
		if err := json.Unmarshal(data[off:off+i], &e); err != nil {
			return off, fmt.Errorf("%w: line %d: %v", ErrState, n, err)
		}
		if err := s.apply(e); err != nil {
			return off, fmt.Errorf("%w: line %d: %v", ErrState, n, err)
		}
		off += i + 1
	}
	return off, nil
}

// apply records one entry in memory.
func (s *state) apply(e entry) error {
	switch e.Op {
	case "intent":
		if e.Seq <= 0 || s.submissions[e.Seq] != nil {
			return fmt.Errorf("intent with seq %d", e.Seq)
		}
		s.submissions[e.Seq] = &submission{seq: e.Seq, at: e.At, ids: e.IDs}
		s.order = append(s.order, e.Seq)
		s.seq = max(s.seq, e.Seq)
		for _, id := range e.IDs {
			s.submitted[id]++
		}
	case "created":
		sub := s.submissions[e.Seq]
		if sub == nil || e.Batch == "" {
			return fmt.Errorf("created without its intent (seq %d)", e.Seq)
		}
		if s.byBatch[e.Batch] == nil {
			sub.batches = append(sub.batches, e.Batch)
			s.byBatch[e.Batch] = sub
		}
	case "refused":
		sub := s.submissions[e.Seq]
		if sub == nil {
			return fmt.Errorf("refused without its intent (seq %d)", e.Seq)
		}
		if !sub.refused {
			sub.refused = true
			for _, id := range sub.ids {
				s.submitted[id]--
			}
		}
	case "done":
		s.done[e.ID] = true
	case "retrieved":
		s.retrieved[e.Batch] = true
	default:
		return fmt.Errorf("unknown op %q", e.Op)
	}
	return nil
}

// record applies e and appends it to the journal; sync says whether it
// must be on disk before record returns.
func (s *state) record(e entry, sync bool) error {
	if err := s.apply(e); err != nil {
		return err
	}
	if s.file == nil {
		return nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	s.w.Write(b)
	s.w.WriteByte('\n')
	if !sync {
		return nil
	}
	return s.sync()
}

// sync flushes what record appended and syncs the file.
func (s *state) sync() error {
	if s.file == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("batch: state file: %w", err)
	}
	if err := s.file.Sync(); err != nil {
		return fmt.Errorf("batch: state file: %w", err)
	}
	return nil
}

func (s *state) close() error {
	if s.file == nil {
		return nil
	}
	err := s.sync()
	if cerr := s.file.Close(); err == nil {
		err = cerr
	}
	return err
}
