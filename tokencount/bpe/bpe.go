package bpe

import (
	"fmt"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// Encodings accepted by Load.
const (
	// CL100K is the cl100k_base encoding (GPT-4, GPT-3.5): ~11 MiB heap, ~0.1 s to load.
	CL100K = "cl100k_base"
	// O200K is the o200k_base encoding (GPT-4o and later): ~22 MiB heap, ~0.2 s to load.
	// tokencount's priors assume counts close to it.
	O200K = "o200k_base"
)

// A Counter counts tokens with one tiktoken encoding. It implements
// tokencount.Counter. Its zero value is not usable: get one from Load. A Counter is
// read-only and safe for concurrent use by multiple goroutines.
type Counter struct {
	enc *tiktoken.Tiktoken
}

// setLoader installs the offline BPE loader (the vocabularies embedded in
// tiktoken-go-loader) before the first GetEncoding; tiktoken.SetBpeLoader is an
// unsynchronized global, so it is written exactly once. With it, no network call is
// ever made.
var setLoader = sync.OnceFunc(func() {
	tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
})

// counters holds one lazily loaded Counter per encoding, shared by the whole process.
var counters = map[string]func() (*Counter, error){
	CL100K: sync.OnceValues(func() (*Counter, error) { return load(CL100K) }),
	O200K:  sync.OnceValues(func() (*Counter, error) { return load(O200K) }),
}

func load(name string) (*Counter, error) {
	setLoader()
	enc, err := tiktoken.GetEncoding(name)
	if err != nil {
		return nil, fmt.Errorf("bpe: loading encoding %s: %w", name, err)
	}
	return &Counter{enc: enc}, nil
}

// Load returns the Counter of the named encoding, CL100K or O200K, loading its
// vocabulary from the binary on the first call for that encoding (~0.1–0.2 s); later
// calls return the same Counter at once. Load is safe for concurrent use. It returns
// an error for any other encoding name.
func Load(encoding string) (*Counter, error) {
	load, ok := counters[encoding]
	if !ok {
		return nil, fmt.Errorf("bpe: unknown encoding %q (want %q or %q)", encoding, CL100K, O200K)
	}
	return load()
}

// maxRun caps the length in bytes of a run of one character class (letters, digits,
// whitespace, other) handed to tiktoken in one piece. tiktoken-go's byte-pair merge is
// quadratic in the piece length (100 kB of one letter takes seconds); longer runs are
// cut into pieces of at most maxRun bytes and encoded separately, which keeps the cost
// linear and changes counts only for such runs (base64, minified data, one huge word).
const maxRun = 128

// chunk is the size of the pieces of text handed to tiktoken-go: it converts its input
// to runes and collects every match before encoding, so ~2 KiB chunks are cheaper than
// one large call. Chunks end before a space that starts a word, where the
// pre-tokenizer would split anyway, so counts are unchanged.
const chunk = 2 << 10

// Count returns the number of tokens of text: tiktoken-go's EncodeOrdinary count
// (special tokens such as "<|endoftext|>" are counted as ordinary text), except that
// runs of one character class longer than 128 bytes are encoded in pieces, which keeps
// the cost linear in len(text).
func (c *Counter) Count(text string) int64 {
	s := text
	var n int64
	seg, run := 0, 0
	var prev uint8
	for i := 0; i < len(s); {
		cls, size := class(s, i)
		switch {
		case cls != prev:
			if cls == cSpace && s[i] == ' ' && i-seg >= chunk && prev != cSpace &&
				i+1 < len(s) && s[i+1] < utf8.RuneSelf && asciiClass[s[i+1]] == cLetter {
				n += int64(len(c.enc.EncodeOrdinary(s[seg:i])))
				seg = i
			}
			prev, run = cls, i
		case i+size-run > maxRun:
			n += int64(len(c.enc.EncodeOrdinary(s[seg:i])))
			seg, run = i, i
		}
		i += size
	}
	if seg < len(s) {
		n += int64(len(c.enc.EncodeOrdinary(s[seg:])))
	}
	return n
}

// Character classes, as tiktoken's pre-tokenizer groups characters.
const (
	cNone uint8 = iota
	cLetter
	cDigit
	cSpace
	cOther
)

// asciiClass classifies ASCII bytes. Line breaks are cOther, not cSpace: tiktoken's
// pre-tokenizer attaches them to a preceding punctuation run.
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for b := range utf8.RuneSelf {
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z':
			t[b] = cLetter
		case '0' <= b && b <= '9':
			t[b] = cDigit
		case b == ' ', b == '\t':
			t[b] = cSpace
		default:
			t[b] = cOther
		}
	}
	return t
}()

// class returns the class of the character at s[i] and its size in bytes: letters of
// any script with their marks, digits, whitespace, everything else (invalid UTF-8
// included).
func class(s string, i int) (cls uint8, size int) {
	if b := s[i]; b < utf8.RuneSelf {
		return asciiClass[b], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	switch {
	case unicode.IsLetter(r) || unicode.In(r, unicode.Mn, unicode.Mc):
		return cLetter, n
	case unicode.IsDigit(r):
		return cDigit, n
	case unicode.IsSpace(r):
		return cSpace, n
	}
	return cOther, n
}
