package tier

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"time"
)

// budgetJSON is the wire form of a Budget: burst is a Go duration string.
type budgetJSON struct {
	RPM      int64    `json:"rpm,omitempty"`
	ITPM     int64    `json:"itpm,omitempty"`
	OTPM     int64    `json:"otpm,omitempty"`
	TPM      int64    `json:"tpm,omitempty"`
	RPD      int64    `json:"rpd,omitempty"`
	TPD      int64    `json:"tpd,omitempty"`
	Burst    *string  `json:"burst,omitempty"`
	Headroom *float64 `json:"headroom,omitempty"`
}

// MarshalJSON encodes b with burst as a Go duration string ("10s"), omitting
// zero fields.
func (b Budget) MarshalJSON() ([]byte, error) {
	j := budgetJSON{RPM: b.RPM, ITPM: b.ITPM, OTPM: b.OTPM, TPM: b.TPM, RPD: b.RPD, TPD: b.TPD}
	if b.Burst != 0 {
		s := b.Burst.String()
		j.Burst = &s
	}
	if b.Headroom != 0 {
		if math.IsNaN(b.Headroom) || math.IsInf(b.Headroom, 0) {
			return nil, &FieldError{"headroom", fmt.Sprintf("%v is not a number JSON can hold", b.Headroom)}
		}
		h := b.Headroom
		j.Headroom = &h
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes a budget object such as
// {"rpm":1000,"itpm":450000,"otpm":90000,"burst":"10s","headroom":0.1}.
// Unknown fields are rejected and burst must be a duration string accepted
// by time.ParseDuration. Errors are *FieldError values; UnmarshalJSON does
// not call [Budget.Validate]; LoadConfig does both.
func (b *Budget) UnmarshalJSON(data []byte) error {
	var j budgetJSON
	if err := decodeStrict(data, &j); err != nil {
		return err
	}
	burst, err := parseBurst(j.Burst, "burst")
	if err != nil {
		return err
	}
	*b = Budget{RPM: j.RPM, ITPM: j.ITPM, OTPM: j.OTPM, TPM: j.TPM, RPD: j.RPD, TPD: j.TPD, Burst: burst}
	if j.Headroom != nil {
		b.Headroom = *j.Headroom
	}
	return nil
}

func parseBurst(s *string, field string) (time.Duration, error) {
	if s == nil {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(*s))
	if err != nil {
		return 0, &FieldError{field, fmt.Sprintf("%s is not a duration such as \"10s\" or \"1m30s\"", quote(*s))}
	}
	return d, nil
}

// decodeStrict decodes one JSON value from data into v, rejecting unknown
// fields and trailing data, and turns decoding errors into *FieldError
// values that name the field.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonFieldError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &FieldError{"", "unexpected data after the JSON value"}
	}
	return nil
}

// jsonFieldError converts an encoding/json error to a *FieldError. A
// *FieldError returned by a nested UnmarshalJSON passes through unchanged.
func jsonFieldError(err error) error {
	var fe *FieldError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &te):
		what := "a JSON " + te.Value
		if k := te.Type.Kind(); (k == reflect.Int64 || k == reflect.Pointer && te.Type.Elem().Kind() == reflect.Int64) &&
			strings.HasPrefix(te.Value, "number") {
			what = "a number out of range or not an integer"
		}
		return &FieldError{te.Field, fmt.Sprintf("got %s, want %s", what, goTypeName(te.Type.String()))}
	case errors.As(err, &se):
		return &FieldError{"", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se.Error())}
	case errors.Is(err, io.EOF):
		return &FieldError{"", "empty input, want a JSON object"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &FieldError{"", "truncated JSON"}
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &FieldError{strings.Trim(rest, `"`), "unknown field"}
	}
	return &FieldError{"", strings.TrimPrefix(msg, "json: ")}
}

func goTypeName(t string) string {
	switch t {
	case "int64", "*int64":
		return "an integer"
	case "float64", "*float64":
		return "a number"
	case "string", "*string", "tier.Provider":
		return "a string"
	case "bool":
		return "true or false"
	}
	if strings.HasPrefix(t, "map[") || strings.HasPrefix(t, "tier.") || strings.HasPrefix(t, "*tier.") {
		return "an object"
	}
	return t
}
