package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"
)

// outFile is --out and its journal. Records are appended one line per
// request as each completes, with one write each (a crash leaves at most a
// torn last line, which a resumed run cuts off). The journal, --out plus
// ".inflight", is the write-ahead log: a request is marked there, and the
// mark synced to disk, before its first attempt goes on the wire, so that a
// resumed run knows which requests may have been sent without an answer
// recorded. It is removed when a run ends with no such request.
type outFile struct {
	mu       sync.Mutex
	out, wal *os.File
	walPath  string
}

// journalMark is one line of the journal.
type journalMark struct {
	ID     string    `json:"id"`
	Line   int       `json:"line"`
	SentAt time.Time `json:"sent_at"`
}

// resumeState is what an earlier run left in --out and its journal.
type resumeState struct {
	// done holds the last record of every request that has one.
	done map[string]Record
	// maybeSent holds the requests marked in flight that have no record:
	// they were sent, or about to be, when the earlier run ended.
	maybeSent map[string]journalMark
	// torn reports that the last line of --out was cut off (and removed).
	torn bool
}

// openOut opens path for appending. Without resume, it must not hold
// records already (so that a second run cannot mix its records into an
// earlier run's by mistake). With resume, it returns what the file and its
// journal say.
func openOut(path string, resume bool) (*outFile, *resumeState, error) {
	st := &resumeState{done: map[string]Record{}, maybeSent: map[string]journalMark{}}
	walPath := path + ".inflight"
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, nil, usageErr("--out: %w", err)
	case !resume && info.Size() > 0:
		return nil, nil, usageErr("--out %s already holds records: add --resume to continue that run, or remove the file", path)
	case resume:
		if err := st.readOut(path); err != nil {
			return nil, nil, err
		}
	}
	if resume {
		if err := st.readJournal(walPath); err != nil {
			return nil, nil, err
		}
	} else if err := os.Remove(walPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, usageErr("--out: %w", err)
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, usageErr("--out: %w", err)
	}
	wal, err := os.OpenFile(walPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		out.Close()
		return nil, nil, usageErr("--out: the journal: %w", err)
	}
	return &outFile{out: out, wal: wal, walPath: walPath}, st, nil
}

// readOut reads the records of an earlier run, cutting off a torn last
// line.
func (st *resumeState) readOut(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usageErr("--out: %w", err)
	}
	good := 0 // bytes of complete, parsed lines
	for n := 1; len(data[good:]) > 0; n++ {
		rest := data[good:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 { // no newline: the write of the last record was cut off
			st.torn = true
			break
		}
		line := bytes.TrimSpace(rest[:i])
		if len(line) > 0 {
			var r Record
			if err := json.Unmarshal(line, &r); err != nil || r.ID == "" {
				return usageErr("--out %s, line %d: not a record of ratekeeper run (%v)", path, n, err)
			}
			st.done[r.ID] = r
		}
		good += i + 1
	}
	if st.torn {
		if err := os.Truncate(path, int64(good)); err != nil {
			return usageErr("--out: cutting off the torn last line: %w", err)
		}
	}
	return nil
}

// readJournal reads the in-flight marks of an earlier run.
func (st *resumeState) readJournal(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usageErr("--out: the journal: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m journalMark
		if json.Unmarshal(sc.Bytes(), &m) != nil || m.ID == "" {
			continue // a torn mark: its request was not sent (the mark precedes the send)
		}
		if _, ok := st.done[m.ID]; !ok {
			st.maybeSent[m.ID] = m
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return usageErr("--out: the journal: %w", err)
	}
	return nil
}

// markSent writes the journal mark of a request about to be sent, and
// syncs it: when it returns nil, a crash cannot lose the fact.
func (o *outFile) markSent(id string, line int, at time.Time) error {
	if o == nil {
		return nil
	}
	b, err := json.Marshal(journalMark{ID: id, Line: line, SentAt: at})
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := o.wal.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("the journal of --out: %w", err)
	}
	return o.wal.Sync()
}

// write appends r to --out.
func (o *outFile) write(r *Record) error {
	if o == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := o.out.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// close syncs and closes the files; with settled (no request is left in
// flight without a record), the journal is removed.
func (o *outFile) close(settled bool) error {
	if o == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	err := errors.Join(o.out.Sync(), o.out.Close(), o.wal.Close())
	if settled && err == nil {
		err = os.Remove(o.walPath)
	}
	return err
}
