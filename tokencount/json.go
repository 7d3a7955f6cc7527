package tokencount

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of JSON values, so that hostile input cannot exhaust the
// stack.
const maxDepth = 512

// lexer is a minimal, strict, single-pass JSON reader over a byte slice. It never
// copies: strings and skipped values are returned as subslices of the input. Errors
// carry the byte offset. A lexer is not safe for concurrent use.
type lexer struct {
	b     []byte
	i     int
	depth int
}

func (l *lexer) fail(reason string) error {
	return &MalformedError{Offset: l.i, Reason: reason}
}

// ws skips insignificant whitespace.
func (l *lexer) ws() {
	for l.i < len(l.b) {
		switch l.b[l.i] {
		case ' ', '\t', '\n', '\r':
			l.i++
		default:
			return
		}
	}
}

// peek returns the next non-whitespace byte, or 0 at the end of input.
func (l *lexer) peek() byte {
	l.ws()
	if l.i < len(l.b) {
		return l.b[l.i]
	}
	return 0
}

func (l *lexer) eat(c byte) bool {
	l.ws()
	if l.i < len(l.b) && l.b[l.i] == c {
		l.i++
		return true
	}
	return false
}

// end checks that only whitespace follows the top-level value.
func (l *lexer) end() error {
	l.ws()
	if l.i != len(l.b) {
		return l.fail("unexpected data after top-level value")
	}
	return nil
}

// object reads an object, calling f for each member with the lexer positioned at the
// member's value; f must consume exactly one value. Keys are raw (escapes intact unless
// unescaped by keyString).
func (l *lexer) object(f func(key []byte) error) error {
	if !l.eat('{') {
		return l.fail("expected object")
	}
	if l.depth++; l.depth > maxDepth {
		return l.fail("nesting too deep")
	}
	defer func() { l.depth-- }()
	if l.eat('}') {
		return nil
	}
	for {
		l.ws()
		key, err := l.str()
		if err != nil {
			return err
		}
		if bytes.IndexByte(key, '\\') >= 0 {
			key = unescape(nil, key)
		}
		if !l.eat(':') {
			return l.fail("expected ':' after object key")
		}
		l.ws()
		if err := f(key); err != nil {
			return err
		}
		if l.eat(',') {
			continue
		}
		if l.eat('}') {
			return nil
		}
		return l.fail("expected ',' or '}' in object")
	}
}

// array reads an array, calling f for each element with the lexer positioned at it; f
// must consume exactly one value.
func (l *lexer) array(f func(i int) error) error {
	if !l.eat('[') {
		return l.fail("expected array")
	}
	if l.depth++; l.depth > maxDepth {
		return l.fail("nesting too deep")
	}
	defer func() { l.depth-- }()
	if l.eat(']') {
		return nil
	}
	for i := 0; ; i++ {
		l.ws()
		if err := f(i); err != nil {
			return err
		}
		if l.eat(',') {
			continue
		}
		if l.eat(']') {
			return nil
		}
		return l.fail("expected ',' or ']' in array")
	}
}

// str reads a string and returns its raw contents between the quotes, escapes intact
// but validated.
func (l *lexer) str() ([]byte, error) {
	l.ws()
	if l.i >= len(l.b) || l.b[l.i] != '"' {
		return nil, l.fail("expected string")
	}
	l.i++
	start := l.i
	b := l.b
	for i := start; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			l.i = i + 1
			return b[start:i], nil
		case c == '\\':
			if i+1 >= len(b) {
				l.i = i
				return nil, l.fail("unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+5 >= len(b) || !isHex4(b[i+2:i+6]) {
					l.i = i
					return nil, l.fail(`invalid \u escape in string`)
				}
				i += 5
			default:
				l.i = i
				return nil, l.fail("invalid escape in string")
			}
		case c < 0x20:
			l.i = i
			return nil, l.fail("control character in string")
		}
	}
	l.i = len(b)
	return nil, l.fail("unterminated string")
}

func isHex4(h []byte) bool {
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// number reads a number and returns its raw text.
func (l *lexer) number() ([]byte, error) {
	l.ws()
	b, start, i := l.b, l.i, l.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		digits()
	default:
		return nil, l.fail("expected number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			l.i = i
			return nil, l.fail("invalid number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			l.i = i
			return nil, l.fail("invalid number")
		}
	}
	l.i = i
	return b[start:i], nil
}

// int reads an integer number.
func (l *lexer) int() (int64, error) {
	at := l.i
	raw, err := l.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		// Accept integral values written with a fraction or exponent (1e3, 1024.0).
		f, ferr := strconv.ParseFloat(string(raw), 64)
		if ferr != nil || f != float64(int64(f)) {
			l.i = at
			return 0, l.fail("expected integer")
		}
		n = int64(f)
	}
	return n, nil
}

func (l *lexer) literal(word string) bool {
	l.ws()
	if bytes.HasPrefix(l.b[l.i:], []byte(word)) {
		l.i += len(word)
		return true
	}
	return false
}

// boolean reads true or false (null reads as false).
func (l *lexer) boolean() (bool, error) {
	switch {
	case l.literal("true"):
		return true, nil
	case l.literal("false"), l.literal("null"):
		return false, nil
	}
	return false, l.fail("expected boolean")
}

// null consumes a null literal if one is next and reports whether it did.
func (l *lexer) null() bool {
	return l.peek() == 'n' && l.literal("null")
}

// skip reads any value and returns its raw bytes.
func (l *lexer) skip() ([]byte, error) {
	l.ws()
	start := l.i
	var err error
	switch l.peek() {
	case '{':
		err = l.object(func([]byte) error { _, err := l.skip(); return err })
	case '[':
		err = l.array(func(int) error { _, err := l.skip(); return err })
	case '"':
		_, err = l.str()
	case 't', 'f', 'n':
		if !l.literal("true") && !l.literal("false") && !l.literal("null") {
			err = l.fail("invalid literal")
		}
	case 0:
		err = l.fail("unexpected end of input")
	default:
		_, err = l.number()
	}
	if err != nil {
		return nil, err
	}
	return l.b[start:l.i], nil
}

// stringOrNull reads a string (returning its raw contents) or null (returning nil).
func (l *lexer) stringOrNull() ([]byte, error) {
	if l.null() {
		return nil, nil
	}
	return l.str()
}

// unescape appends the decoded form of the raw JSON string contents s to dst. s must
// have been validated by lexer.str. Unpaired surrogates decode to U+FFFD, as in
// encoding/json.
func unescape(dst, s []byte) []byte {
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\\')
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		if len(s) < 2 {
			return dst
		}
		switch s[1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := decodeU(s)
			dst = utf8.AppendRune(dst, r)
			s = s[n:]
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[1])
		}
		s = s[2:]
	}
	return dst
}

// decodeU decodes a \uXXXX escape (and a following low surrogate) at the start of s,
// returning the rune and the number of bytes consumed.
func decodeU(s []byte) (rune, int) {
	if len(s) < 6 || !isHex4(s[2:6]) {
		return utf8.RuneError, min(len(s), 2)
	}
	r := rune(hex4(s[2:6]))
	if utf16.IsSurrogate(r) {
		if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' && isHex4(s[8:12]) {
			if d := utf16.DecodeRune(r, rune(hex4(s[8:12]))); d != utf8.RuneError {
				return d, 12
			}
		}
		return utf8.RuneError, 6
	}
	return r, 6
}

func hex4(h []byte) uint16 {
	var v uint16
	for _, c := range h {
		v <<= 4
		switch {
		case c >= 'a':
			v |= uint16(c-'a') + 10
		case c >= 'A':
			v |= uint16(c-'A') + 10
		default:
			v |= uint16(c - '0')
		}
	}
	return v
}
