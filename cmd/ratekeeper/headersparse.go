package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// headersMaxInput bounds what `ratekeeper headers` reads: headers and an
// error body (tier.MaxErrorBody) fit well within it.
const headersMaxInput = 8 << 20

// errHeadersInput is matched by every error of headersParse.
var errHeadersInput = errors.New("not a captured response")

// headersCapture is a captured HTTP response: what `ratekeeper headers`
// explains.
type headersCapture struct {
	// status is the status code; 0 when the input has no status line.
	status int
	// statusText is the reason phrase of the status line, possibly empty.
	statusText string
	// header holds the headers, by canonical name.
	header http.Header
	// body is what follows the blank line after the headers, trimmed of
	// surrounding white space; nil when there is none.
	body []byte
}

// headersParse reads a captured response: a raw HTTP/1.x or HTTP/2 response
// as `curl -i` or `curl -D -` print it (a status line, header lines, a blank
// line, the body), or header lines alone ("Name: value"), with LF or CRLF
// line ends. Interim and proxy responses before the last one (100
// Continue, "Connection established") are skipped. A line that starts with
// a space or a tab continues the previous header's value. The errors match
// errHeadersInput and name the offending line.
func headersParse(data []byte) (*headersCapture, error) {
	fail := func(line int, format string, args ...any) (*headersCapture, error) {
		return nil, fmt.Errorf("%w: line %d: %s", errHeadersInput, line, fmt.Sprintf(format, args...))
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lines := strings.SplitAfter(string(data), "\n")
	n := 0 // lines consumed
	next := func() (string, bool) {
		if n >= len(lines) {
			return "", false
		}
		l := strings.TrimRight(lines[n], "\r\n")
		n++
		return l, true
	}
	c := &headersCapture{header: http.Header{}}
	for {
		// Skip blank lines before the status line or the headers.
		start := n
		for n < len(lines) && strings.TrimSpace(lines[n]) == "" {
			n++
		}
		if n == len(lines) {
			if start == 0 {
				return nil, fmt.Errorf("%w: the input is empty", errHeadersInput)
			}
			break
		}
		l, _ := next()
		if hasPrefixFold(l, "HTTP/") {
			code, text, ok := headersStatusLine(l)
			if !ok {
				return fail(n, "%q is not an HTTP status line (want e.g. HTTP/1.1 429 Too Many Requests)", headersCut(l))
			}
			c.status, c.statusText = code, text
			c.header = http.Header{}
		} else {
			n-- // a header line: read it below
		}
		last := ""
		for {
			l, ok := next()
			if !ok || strings.TrimSpace(l) == "" {
				break
			}
			if l[0] == ' ' || l[0] == '\t' {
				if last == "" {
					return fail(n, "%q continues no header", headersCut(l))
				}
				vs := c.header[last]
				vs[len(vs)-1] = strings.Trim(vs[len(vs)-1]+" "+strings.Trim(l, " \t\r"), " \t\r")
				continue
			}
			name, value, ok := strings.Cut(l, ":")
			if name == "" && ok {
				// An HTTP/2 pseudo-header as browsers show them: ":status: 429".
				pseudo, v, _ := strings.Cut(value, ":")
				if strings.EqualFold(pseudo, "status") {
					code, err := strconv.Atoi(strings.TrimSpace(v))
					if err != nil || code < 100 || code > 999 {
						return fail(n, ":status %q is not a status code", headersCut(strings.TrimSpace(v)))
					}
					c.status = code
				}
				continue
			}
			if !ok || !headersToken(name) {
				return fail(n, "%q is not a header (want Name: value)", headersCut(l))
			}
			last = http.CanonicalHeaderKey(name)
			c.header.Add(last, strings.Trim(value, " \t\r"))
		}
		rest := strings.Join(lines[n:], "")
		// A response after this one: this one was interim (1xx) or a
		// proxy's answer to CONNECT.
		if c.status != 0 && hasPrefixFold(strings.TrimLeft(rest, " \t\r\n"), "HTTP/") {
			continue
		}
		if b := strings.TrimSpace(rest); b != "" {
			c.body = []byte(b)
		}
		break
	}
	if c.status == 0 && len(c.header) == 0 {
		return nil, fmt.Errorf("%w: no status line and no headers", errHeadersInput)
	}
	return c, nil
}

// headersStatusLine parses "HTTP/1.1 429 Too Many Requests" (the reason is
// optional, and so is the minor version: "HTTP/2 200").
func headersStatusLine(l string) (code int, text string, ok bool) {
	proto, rest, _ := strings.Cut(l, " ")
	if len(proto) < len("HTTP/1") || strings.Trim(proto[len("HTTP/"):], "0123456789.") != "" {
		return 0, "", false
	}
	rest = strings.TrimLeft(rest, " ")
	num, text, _ := strings.Cut(rest, " ")
	if len(num) != 3 || strings.Trim(num, "0123456789") != "" || num[0] == '0' {
		return 0, "", false
	}
	code, _ = strconv.Atoi(num)
	return code, strings.TrimSpace(text), true
}

// headersToken reports whether s is a valid header name (an RFC 9110
// token).
func headersToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// headersCut shortens a line quoted in an error to 60 bytes.
func headersCut(s string) string {
	if len(s) <= 60 {
		return s
	}
	i := 60
	for i > 0 && s[i]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		i--
	}
	return s[:i] + "…"
}
