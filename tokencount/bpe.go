package tokencount

import (
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// BPE encodings accepted by WithBPE.
const (
	// CL100K is the cl100k_base encoding (GPT-4, GPT-3.5): ~11 MiB heap, ~0.1 s to load.
	CL100K = "cl100k_base"
	// O200K is the o200k_base encoding (GPT-4o and later): ~22 MiB heap, ~0.2 s to load.
	O200K = "o200k_base"
)

// setLoader installs the offline BPE loader (the vocabularies embedded in
// tiktoken-go-loader) before the first GetEncoding; tiktoken.SetBpeLoader is an
// unsynchronized global, so it is written exactly once. With it, no network call is
// ever made.
var setLoader = sync.OnceFunc(func() {
	tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
})

// encoders holds one lazily loaded *tiktoken.Tiktoken per encoding, shared by every
// Estimator in the process. A *tiktoken.Tiktoken is read-only after construction and
// safe for concurrent use.
var encoders = map[string]func() (*tiktoken.Tiktoken, error){
	CL100K: sync.OnceValues(func() (*tiktoken.Tiktoken, error) { return loadEncoding(CL100K) }),
	O200K:  sync.OnceValues(func() (*tiktoken.Tiktoken, error) { return loadEncoding(O200K) }),
}

func loadEncoding(name string) (*tiktoken.Tiktoken, error) {
	setLoader()
	enc, err := tiktoken.GetEncoding(name)
	if err != nil {
		return nil, fmt.Errorf("tokencount: loading BPE encoding %s: %w", name, err)
	}
	return enc, nil
}

// bpeMaxRun caps the length in bytes of a run of one character class (letters, digits,
// whitespace, other) handed to tiktoken in one piece. tiktoken-go's byte-pair merge is
// quadratic in the piece length (100 kB of one letter takes seconds); longer runs are
// cut into pieces of at most bpeMaxRun bytes and encoded separately, which keeps the
// cost linear and changes counts only for such runs (base64, minified data, one huge
// word).
const bpeMaxRun = 128

// bpeClass groups characters as tiktoken's pre-tokenizer does: letters (any script,
// with marks), digits, whitespace, everything else.
func bpeClass(s string, i int) (cls uint8, size int) {
	b := s[i]
	if b < utf8.RuneSelf {
		switch c := asciiClass[b]; c {
		case cLetter, cDigit, cSpace:
			return c, 1
		}
		return cPunct, 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	switch runeClass(r) {
	case cLetter, cCJK, cOtherLetter:
		return cLetter, n
	case cSpace:
		return cSpace, n
	}
	return cPunct, n
}

// bpeChunk is the size of the pieces of text handed to tiktoken-go: it converts its
// input to runes and collects every match before encoding, so ~2 KiB chunks are
// cheaper than one large call. Chunks end before a space that starts a word, where the
// pre-tokenizer would split anyway, so counts are unchanged.
const bpeChunk = 2 << 10

// countBPE counts the tokens of s with enc, cutting runs longer than bpeMaxRun and
// chunking at word boundaries.
func countBPE(enc *tiktoken.Tiktoken, s string) int64 {
	var n int64
	seg, run := 0, 0
	var prev uint8
	for i := 0; i < len(s); {
		cls, size := bpeClass(s, i)
		switch {
		case cls != prev:
			if cls == cSpace && s[i] == ' ' && i-seg >= bpeChunk && prev != cSpace &&
				i+1 < len(s) && asciiClass[s[i+1]&0x7f] == cLetter && s[i+1] < utf8.RuneSelf {
				n += int64(len(enc.EncodeOrdinary(s[seg:i])))
				seg = i
			}
			prev, run = cls, i
		case i+size-run > bpeMaxRun:
			n += int64(len(enc.EncodeOrdinary(s[seg:i])))
			seg, run = i, i
		}
		i += size
	}
	if seg < len(s) {
		n += int64(len(enc.EncodeOrdinary(s[seg:])))
	}
	return n
}
