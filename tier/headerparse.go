package tier

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// headerParser accumulates problems while parsing one header set.
type headerParser struct {
	h        http.Header
	now      time.Time
	problems []HeaderProblem
}

func (p *headerParser) fail(name, value, reason string) {
	if len(value) > 64 {
		value = value[:64]
	}
	p.problems = append(p.problems, HeaderProblem{Header: name, Value: value, Reason: reason})
}

func (p *headerParser) err() error {
	if len(p.problems) == 0 {
		return nil
	}
	return &HeaderError{Problems: p.problems}
}

// get returns the first value of header name (lower case), trimmed; ok is
// false when it is absent or blank. Keys that are not in canonical form
// (a map literal with lower-case keys) are found too.
func (p *headerParser) get(name string) (string, bool) {
	vs := p.h[textproto.CanonicalMIMEHeaderKey(name)]
	if len(vs) == 0 {
		for k, v := range p.h {
			if len(v) > 0 && strings.EqualFold(k, name) {
				vs = v
				break
			}
		}
	}
	if len(vs) == 0 {
		return "", false
	}
	v := strings.TrimSpace(vs[0])
	return v, v != ""
}

// count parses a non-negative integer header no larger than MaxLimit.
func (p *headerParser) count(name string) (int64, bool) {
	v, ok := p.get(name)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange):
		p.fail(name, v, "is out of range")
	case err != nil:
		p.fail(name, v, "is not an integer")
	case n < 0:
		p.fail(name, v, "is negative")
	case n > MaxLimit:
		p.fail(name, v, fmt.Sprintf("exceeds %d", int64(MaxLimit)))
	default:
		return n, true
	}
	return 0, false
}

// resetRFC3339 parses an absolute RFC 3339 instant.
func (p *headerParser) resetRFC3339(name string) (time.Time, bool) {
	v, ok := p.get(name)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		p.fail(name, v, "is not an RFC 3339 time")
		return time.Time{}, false
	}
	return t, true
}

// resetRelative parses OpenAI's reset: a Go duration ("6m0s", "20ms"), a
// bare number of seconds ("1.5"), or, failing those, an RFC 3339 instant.
func (p *headerParser) resetRelative(name string) (time.Time, bool) {
	v, ok := p.get(name)
	if !ok {
		return time.Time{}, false
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		if s, err2 := strconv.ParseFloat(v, 64); err2 == nil {
			d, err = secondsToDuration(s)
		} else if t, err3 := time.Parse(time.RFC3339, v); err3 == nil {
			return t, true
		}
	}
	switch {
	case err != nil:
		p.fail(name, v, "is not a duration such as \"6m0s\" or \"20ms\"")
	case d < 0:
		p.fail(name, v, "is negative")
	default:
		return p.now.Add(d), true
	}
	return time.Time{}, false
}

// secondsToDuration converts s seconds to a Duration, rejecting NaN,
// infinities and values beyond the Duration range.
func secondsToDuration(s float64) (time.Duration, error) {
	if math.IsNaN(s) || math.IsInf(s, 0) || math.Abs(s) >= float64(math.MaxInt64)/float64(time.Second) {
		return 0, errDurationRange
	}
	return time.Duration(s * float64(time.Second)), nil
}

// dim parses one limit/remaining/reset triple.
func (p *headerParser) dim(limit, remaining, reset string, rfc3339, rounded bool) DimensionObservation {
	o := DimensionObservation{Remaining: -1}
	if n, ok := p.count(limit); ok {
		o.Limit, o.Present = n, true
	}
	if n, ok := p.count(remaining); ok {
		o.Remaining, o.Present, o.Rounded = n, true, rounded
	}
	var t time.Time
	var ok bool
	if rfc3339 {
		t, ok = p.resetRFC3339(reset)
	} else {
		t, ok = p.resetRelative(reset)
	}
	if ok {
		o.Reset, o.Present = t, true
	}
	return o
}

// retryAfter parses retry-after-ms (milliseconds) and retry-after (seconds
// or an HTTP date), preferring the first that parses, as the official SDKs do.
func (p *headerParser) retryAfter() (time.Duration, bool) {
	if v, ok := p.get("retry-after-ms"); ok {
		ms, err := strconv.ParseFloat(v, 64)
		var d time.Duration
		if err == nil {
			d, err = secondsToDuration(ms / 1000)
		}
		switch {
		case err != nil:
			p.fail("retry-after-ms", v, "is not a number of milliseconds")
		case d < 0:
			p.fail("retry-after-ms", v, "is negative")
		default:
			return d, true
		}
	}
	v, ok := p.get("retry-after")
	if !ok {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		d, err := secondsToDuration(s)
		switch {
		case err != nil:
			p.fail("retry-after", v, "is out of range")
		case d < 0:
			p.fail("retry-after", v, "is negative")
		default:
			return d, true
		}
		return 0, false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		p.fail("retry-after", v, "is neither seconds nor an HTTP date")
		return 0, false
	}
	return max(t.Sub(p.now), 0), true
}
