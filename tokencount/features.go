package tokencount

import (
	"unicode"
	"unicode/utf8"
)

// Features are the content counts of one request from which its input tokens are
// estimated, and from which the calibrator learns. All counts are non-negative. Text
// counts cover what the model reads (message text, system prompt, tool definitions,
// tool inputs and results), after JSON unescaping; they exclude base64 payloads. The
// units mirror what BPE pre-tokenizers split on: words (split at camelCase humps),
// digit groups of up to three, punctuation runs, whitespace runs.
type Features struct {
	Messages int64 // messages, plus one for a system prompt
	Blocks   int64 // non-text content blocks (Anthropic) or parts (OpenAI): tool use and results, images, documents, thinking
	Tools    int64 // tool (and legacy function) definitions

	Letters      int64 // Latin-script letters
	Words        int64 // Latin-script words (letter runs, split at lower→upper case changes)
	LongWords    int64 // Latin words of more than six letters, which tokenizers split
	WordExcess   int64 // letters beyond the sixth in Latin words
	Digits       int64 // ASCII digits
	DigitGroups  int64 // digit runs counted in groups of up to three digits
	Punct        int64 // ASCII punctuation and symbols
	PunctRuns    int64 // runs of punctuation and symbols
	Spaces       int64 // whitespace characters
	SpaceRuns    int64 // runs of spaces or tabs other than a single space (indentation, alignment)
	LineBreaks   int64 // runs of line breaks
	CJK          int64 // Han, kana and hangul characters
	OtherLetters int64 // letters of other scripts: Cyrillic, Greek, Arabic, Devanagari, ...
	OtherWords   int64 // runs of such letters
	Other        int64 // other characters: emoji, non-ASCII punctuation and symbols

	Images        int64 // image blocks or parts
	ImageTokens   int64 // image (and audio) tokens by the provider's published formula
	DocumentPages int64 // PDF pages (estimated)

	// BPETokens is the Counter's count of the text when the Estimator has one
	// (WithCounter); zero in the default heuristic mode.
	BPETokens int64
}

// feature indices of the calibration vector.
const (
	fBias = iota
	fMessages
	fBlocks
	fTools
	fToolsPresent
	fLetters
	fWords
	fLongWords
	fWordExcess
	fDigitGroups
	fPunct
	fPunctRuns
	fSpaces
	fSpaceRuns
	fLineBreaks
	fCJK
	fOtherLetters
	fOtherWords
	fOther
	fImages
	fImageTokens
	fDocPages
	fBPE
	fScale // not a feature: the calibrator's overall correction of the prior estimate
	numFeatures
)

// text features are the indices fLetters through fOther.
const fTextFirst, fTextLast = fLetters, fOther

var featureNames = [numFeatures]string{
	"bias", "messages", "blocks", "tools", "tools_present", "letters", "words", "long_words", "word_excess",
	"digit_groups", "punct", "punct_runs", "spaces", "space_runs", "line_breaks", "cjk",
	"other_letters", "other_words", "other", "images", "image_tokens", "document_pages",
	"bpe_tokens", "scale",
}

type vec [numFeatures]float64

func (f *Features) vector() vec {
	var v vec
	v[fBias] = 1
	v[fMessages] = float64(f.Messages)
	v[fBlocks] = float64(f.Blocks)
	v[fTools] = float64(f.Tools)
	if f.Tools > 0 {
		v[fToolsPresent] = 1
	}
	v[fLetters] = float64(f.Letters)
	v[fWords] = float64(f.Words)
	v[fLongWords] = float64(f.LongWords)
	v[fWordExcess] = float64(f.WordExcess)
	v[fDigitGroups] = float64(f.DigitGroups)
	v[fPunct] = float64(f.Punct)
	v[fPunctRuns] = float64(f.PunctRuns)
	v[fSpaces] = float64(f.Spaces)
	v[fSpaceRuns] = float64(f.SpaceRuns)
	v[fLineBreaks] = float64(f.LineBreaks)
	v[fCJK] = float64(f.CJK)
	v[fOtherLetters] = float64(f.OtherLetters)
	v[fOtherWords] = float64(f.OtherWords)
	v[fOther] = float64(f.Other)
	v[fImages] = float64(f.Images)
	v[fImageTokens] = float64(f.ImageTokens)
	v[fDocPages] = float64(f.DocumentPages)
	v[fBPE] = float64(f.BPETokens)
	return v
}

// character classes.
const (
	cNone uint8 = iota
	cLetter
	cDigit
	cPunct
	cSpace
	cNewline
	cCJK
	cOtherLetter
	cOther
)

var asciiClass = func() (t [128]uint8) {
	for c := range 128 {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			t[c] = cLetter
		case '0' <= c && c <= '9':
			t[c] = cDigit
		case c == '\n', c == '\r', c == '\v', c == '\f':
			t[c] = cNewline
		case c == ' ', c == '\t':
			t[c] = cSpace
		case c < 0x20 || c == 0x7f:
			t[c] = cOther
		default:
			t[c] = cPunct
		}
	}
	return t
}()

// runeClass classifies a non-ASCII rune.
func runeClass(r rune) uint8 {
	switch {
	case r < 0x250: // Latin-1 Supplement, Latin Extended-A/B
		if r == 0xD7 || r == 0xF7 || r < 0xC0 {
			if r == 0xA0 || r == 0x85 {
				return cSpace
			}
			return cOther
		}
		return cLetter
	case 0x370 <= r && r < 0x530: // Greek, Cyrillic
		return cOtherLetter
	case 0x3040 <= r && r < 0x3100, // kana
		0x3400 <= r && r < 0x4DC0, 0x4E00 <= r && r < 0xA000, // Han
		0xAC00 <= r && r < 0xD7B0, 0x1100 <= r && r < 0x1200, 0x3130 <= r && r < 0x3190, // hangul
		0xF900 <= r && r < 0xFB00, 0x20000 <= r && r < 0x32000:
		return cCJK
	case 0x1E00 <= r && r < 0x1F00: // Latin Extended Additional
		return cLetter
	case unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r):
		return cOtherLetter
	case unicode.IsSpace(r):
		return cSpace
	}
	return cOther
}

// numClasses is the number of character classes.
const numClasses = cOther + 1

// counter accumulates character-class features over text. Runs do not cross calls
// to flush. It is not safe for concurrent use.
type counter struct {
	f     *Features
	n     [numClasses]int64 // characters per class, added to f by flush
	prev  uint8             // class of the previous character
	run   int               // characters in the current run (Latin: in the current word)
	plain bool              // the current whitespace run is one plain space
	lower bool              // the previous Latin letter was lower-case
}

// class counts one character of class cls; b is its byte for ASCII, 0 otherwise.
// ascii counts one ASCII byte: the fast path for a run that continues,
// class for everything else. Small enough to be inlined in the loops.
func (c *counter) ascii(b byte) {
	cls := asciiClass[b]
	if cls == c.prev && (cls != cLetter || b >= 'a') { // run continues, no hump
		c.n[cls]++
		c.run++
		c.lower = true // read only in letter runs, where b is lower-case here
		return
	}
	c.class(cls, b)
}

func (c *counter) class(cls uint8, b byte) {
	c.n[cls]++
	if cls == c.prev {
		c.run++
		if cls == cLetter {
			upper := 'A' <= b && b <= 'Z'
			if upper && c.lower { // camelCase hump: a new word
				c.run--
				c.endRun()
				c.run = 1
				c.f.Words++
			}
			c.lower = !upper
		}
		return
	}
	c.transition(cls, b)
}

// transition closes the current run and opens one of class cls.
func (c *counter) transition(cls uint8, b byte) {
	c.endRun()
	c.prev, c.run = cls, 1
	f := c.f
	switch cls {
	case cLetter:
		f.Words++
		c.lower = !('A' <= b && b <= 'Z')
	case cPunct:
		f.PunctRuns++
	case cOtherLetter:
		f.OtherWords++
	case cSpace:
		c.plain = b == ' '
	case cNewline:
		f.LineBreaks++
	}
}

// endRun closes the current run.
func (c *counter) endRun() {
	switch c.prev {
	case cLetter:
		if c.run > 6 {
			c.f.LongWords++
			c.f.WordExcess += int64(c.run - 6)
		}
	case cDigit:
		c.f.DigitGroups += int64(c.run+2) / 3
	case cSpace:
		if c.run > 1 || !c.plain {
			c.f.SpaceRuns++
		}
	}
}

// flush ends the current runs and adds the character counts to the features.
func (c *counter) flush() {
	c.endRun()
	c.prev, c.run = cNone, 0
	f, n := c.f, &c.n
	f.Letters += n[cLetter]
	f.Digits += n[cDigit]
	f.Punct += n[cPunct]
	f.Spaces += n[cSpace] + n[cNewline]
	f.CJK += n[cCJK]
	f.OtherLetters += n[cOtherLetter]
	f.Other += n[cOther] + n[cNone]
	*n = [numClasses]int64{}
}

// addString counts plain (already decoded) text.
func (c *counter) addString(s string) {
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			c.ascii(b)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		c.class(runeClass(r), 0)
		i += n
	}
	c.flush()
}

// addRaw counts the raw contents of a JSON string (escapes intact, validated).
func (c *counter) addRaw(s []byte) {
	c.addRawNoFlush(s)
	c.flush()
}

// addJSON counts a raw JSON value as the model would read its compact serialization:
// structural characters as punctuation, insignificant whitespace dropped, strings
// unescaped. v must have been validated by the lexer.
func (c *counter) addJSON(v []byte) {
	for i := 0; i < len(v); {
		b := v[i]
		switch b {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		case '"':
			// find the closing quote
			j := i + 1
			for j < len(v) && v[j] != '"' {
				if v[j] == '\\' {
					j++
				}
				j++
			}
			if j > len(v) {
				j = len(v)
			}
			c.class(cPunct, '"')
			c.addRawNoFlush(v[i+1 : j])
			c.class(cPunct, '"')
			i = j + 1
			continue
		}
		if b < utf8.RuneSelf {
			c.class(asciiClass[b], b)
			i++
			continue
		}
		r, n := utf8.DecodeRune(v[i:])
		c.class(runeClass(r), 0)
		i += n
	}
	c.flush()
}

// addRawNoFlush counts raw JSON string contents without ending the current runs.
func (c *counter) addRawNoFlush(s []byte) {
	for i := 0; i < len(s); {
		b := s[i]
		if b == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 't':
				c.class(cSpace, '\t')
				i += 2
			case 'n', 'r', 'f', 'b':
				c.class(cNewline, 0)
				i += 2
			case 'u':
				r, n := decodeU(s[i:])
				if r < utf8.RuneSelf {
					c.class(asciiClass[r], byte(r))
				} else {
					c.class(runeClass(r), 0)
				}
				i += n
			default:
				c.class(cPunct, '"')
				i += 2
			}
			continue
		}
		if b < utf8.RuneSelf {
			c.ascii(b)
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		c.class(runeClass(r), 0)
		i += n
	}
}
