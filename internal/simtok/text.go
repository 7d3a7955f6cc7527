package simtok

import (
	"unicode"
	"unicode/utf8"
)

// class is the character class of one rune.
type class uint8

const (
	classOther class = iota
	classLatin
	classDigit
	classSpace
	classNewline
	classPunct
	classCJK
	classDense // Cyrillic, Greek, Arabic, Hebrew and other non-Latin alphabets
	classEmoji
	classJoiner   // U+200D zero-width joiner
	classSelector // variation selectors
)

func classify(r rune) class {
	switch {
	case r < utf8.RuneSelf:
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
			return classLatin
		case '0' <= r && r <= '9':
			return classDigit
		case r == ' ' || r == '\t':
			return classSpace
		case r == '\n' || r == '\r':
			return classNewline
		case r < ' ' || r == 0x7f:
			return classOther
		default:
			return classPunct
		}
	case r == 0x200D:
		return classJoiner
	case 0xFE00 <= r && r <= 0xFE0F, 0xE0100 <= r && r <= 0xE01EF:
		return classSelector
	case r >= 0x1F000 && r <= 0x1FAFF, 0x2600 <= r && r <= 0x27BF:
		return classEmoji
	case unicode.Is(unicode.Han, r), unicode.Is(unicode.Hiragana, r),
		unicode.Is(unicode.Katakana, r), unicode.Is(unicode.Hangul, r):
		return classCJK
	case unicode.IsLetter(r):
		if unicode.In(r, unicode.Latin) {
			return classLatin
		}
		return classDense
	case unicode.IsDigit(r):
		return classDigit
	case r == 0x2028 || r == 0x2029 || r == 0x85:
		return classNewline
	case unicode.IsSpace(r):
		return classSpace
	case unicode.IsPunct(r), unicode.IsSymbol(r):
		return classPunct
	case unicode.IsMark(r):
		return classSelector // combining marks ride on the previous letter
	}
	return classOther
}

// FNV-1a, 32 bit.
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func hashRune(h uint32, r rune) uint32 {
	for r != 0 {
		h ^= uint32(r & 0xff)
		h *= fnvPrime
		r >>= 8
	}
	return h
}

// mix finalises a hash so that its low bits are well distributed.
func mix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x7feb352d
	h ^= h >> 15
	h *= 0x846ca68b
	h ^= h >> 16
	return h
}

// CountText returns the simulated token count of s. It is deterministic, pure, and 0 for
// the empty string. Invalid UTF-8 bytes cost 1 token each.
func CountText(s string) int64 {
	var n int64
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			n++
			i++
			continue
		}
		c := classify(r)
		switch c {
		case classLatin:
			j, cost := latinRun(s, i)
			n += cost
			i = j
		case classDigit:
			j := i
			h := uint32(fnvOffset)
			digits := 0
			for j < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[j:])
				if classify(r2) != classDigit {
					break
				}
				h = hashRune(h, r2)
				digits++
				j += sz
			}
			per := 2 + int(mix(h)%2)
			n += int64((digits + per - 1) / per)
			i = j
		case classSpace:
			j := i
			count := 0
			for j < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[j:])
				if classify(r2) != classSpace {
					break
				}
				count++
				j += sz
			}
			if count > 1 || r != ' ' {
				n++
			}
			i = j
		case classNewline:
			// A run of line breaks is one token.
			n++
			for i < len(s) && (s[i] == '\n' || s[i] == '\r') {
				i++
			}
			if i < len(s) && s[i] >= utf8.RuneSelf {
				if r2, sz := utf8.DecodeRuneInString(s[i:]); classify(r2) == classNewline {
					i += sz
				}
			}
			if r >= utf8.RuneSelf {
				i += size
			}
		case classPunct:
			// A run of one repeated ASCII character (a "=====" rule) costs 1 per 4.
			j := i + size
			if r < utf8.RuneSelf {
				for j < len(s) && s[j] == byte(r) {
					j++
				}
			}
			if run := j - i; run >= 3 {
				n += int64((run + 3) / 4)
				i = j
				continue
			}
			n++
			i += size
			if i < len(s) && mergesWith(r, s[i]) {
				i++
			}
		case classCJK:
			n++
			if mix(hashRune(fnvOffset, r))%8 == 0 {
				n++
			}
			i += size
		case classDense:
			j := i
			h := uint32(fnvOffset)
			letters := 0
			for j < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[j:])
				c2 := classify(r2)
				if c2 != classDense && c2 != classSelector {
					break
				}
				if c2 == classDense {
					h = hashRune(h, unicode.ToLower(r2))
					letters++
				}
				j += sz
			}
			per := 2 + int(mix(h)%2)
			n += int64((letters + per - 1) / per)
			i = j
		case classEmoji:
			n += 2 + int64(mix(hashRune(fnvOffset, r))%2)
			i += size
		case classJoiner:
			n++
			i += size
		case classSelector:
			i += size
		default:
			n++
			i += size
		}
	}
	return n
}

// mergesWith reports whether punctuation r and the next byte b form one token.
func mergesWith(r rune, b byte) bool {
	switch r {
	case '"':
		return b == ':' || b == ',' || b == '}'
	case '{':
		return b == '"' || b == '}'
	case '/':
		return b == '/' || b == '>'
	case '=':
		return b == '='
	case ':':
		return b == '='
	case '-':
		return b == '>'
	case '<':
		return b == '/'
	case '(':
		return b == ')'
	case '[':
		return b == ']'
	case ')':
		return b == ';'
	}
	return false
}

// maxWord bounds the bytes of one word kept for the common-word check.
const maxWord = 16

// latinRun consumes the Latin letter run starting at s[i] and returns the index after it
// and its cost. A lower→upper case change (camelCase) ends a word inside the run.
func latinRun(s string, i int) (int, int64) {
	var cost int64
	var buf [maxWord]byte
	for {
		// One word.
		h := uint32(fnvOffset)
		letters := 0
		ascii := true
		prevLower := false
		j := i
		for j < len(s) {
			r, sz := utf8.DecodeRuneInString(s[j:])
			c := classify(r)
			if c == classSelector {
				j += sz
				continue
			}
			if c != classLatin {
				break
			}
			upper := unicode.IsUpper(r)
			if upper && prevLower {
				break
			}
			prevLower = !upper
			lr := unicode.ToLower(r)
			h = hashRune(h, lr)
			if letters < maxWord && lr < utf8.RuneSelf {
				buf[letters] = byte(lr)
			} else {
				ascii = false
			}
			letters++
			j += sz
		}
		cost += wordCost(buf[:min(letters, maxWord)], letters, ascii, mix(h))
		i = j
		if i >= len(s) {
			return i, cost
		}
		r, _ := utf8.DecodeRuneInString(s[i:])
		if classify(r) != classLatin {
			return i, cost
		}
	}
}

// wordCost is the cost of one Latin word of n letters whose lower-cased ASCII prefix is w.
func wordCost(w []byte, n int, ascii bool, h uint32) int64 {
	switch {
	case n <= 3:
		return 1
	case ascii && n <= maxWord && common(string(w)):
		return 1
	case n <= 7:
		if h%6 == 0 {
			return 2
		}
		return 1
	}
	// 1 token per k letters, k in {4.5, 4.75, 5, 5.25, 5.5}: ceil(n*4/(4k)).
	k4 := int64(18 + h%5)
	return (int64(n)*4 + k4 - 1) / k4
}

// common reports whether w is one of the common English words that cost a single token.
// The compiler turns the switch into a binary search; there is no mutable table.
func common(w string) bool {
	switch w {
	case "about", "above", "after", "again", "against", "also", "always", "another",
		"because", "been", "before", "being", "below", "between", "both", "came", "come",
		"could", "data", "does", "doing", "down", "during", "each", "even", "every",
		"example", "file", "find", "first", "from", "function", "give", "good", "great",
		"have", "having", "help", "here", "high", "house", "however", "into", "just",
		"know", "large", "last", "like", "line", "little", "long", "look", "made", "make",
		"many", "more", "most", "much", "must", "name", "need", "never", "number", "only",
		"other", "over", "part", "people", "place", "point", "problem", "public", "read",
		"return", "right", "said", "same", "school", "should", "show", "since", "small",
		"some", "something", "state", "still", "string", "such", "system", "take", "than",
		"that", "their", "them", "then", "there", "these", "they", "thing", "think", "this",
		"those", "though", "three", "through", "time", "type", "under", "until", "used",
		"user", "using", "value", "very", "want", "water", "well", "were", "what", "when",
		"where", "which", "while", "will", "with", "within", "without", "word", "work",
		"world", "would", "write", "year", "years", "your", "error", "true", "false",
		"null", "import", "package", "const", "struct", "class", "self", "print", "test":
		return true
	}
	return false
}
