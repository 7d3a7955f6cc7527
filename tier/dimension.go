package tier

import (
	"strconv"
	"time"
)

// Dimension names one limited quantity of a [Budget]: a rate of requests or
// tokens over a minute or a day.
type Dimension uint8

// The dimensions, in the order used by every per-dimension array.
const (
	RPM  Dimension = iota // requests per minute
	ITPM                  // input tokens per minute
	OTPM                  // output tokens per minute
	TPM                   // tokens (input + output) per minute
	RPD                   // requests per day
	TPD                   // tokens (input + output) per day

	// NumDimensions is the number of dimensions; valid Dimensions are
	// below it.
	NumDimensions
)

var dimensionNames = [NumDimensions]string{
	"requests_per_minute",
	"input_tokens_per_minute",
	"output_tokens_per_minute",
	"tokens_per_minute",
	"requests_per_day",
	"tokens_per_day",
}

var dimensionFields = [NumDimensions]string{"rpm", "itpm", "otpm", "tpm", "rpd", "tpd"}

// String returns the long name, such as "input_tokens_per_minute".
func (d Dimension) String() string {
	if d < NumDimensions {
		return dimensionNames[d]
	}
	return "dimension(" + strconv.Itoa(int(d)) + ")"
}

// Field returns the short name used as the JSON field of a [Budget], such as
// "itpm".
func (d Dimension) Field() string {
	if d < NumDimensions {
		return dimensionFields[d]
	}
	return d.String()
}

// Period returns the time over which d's limit refills: a minute or a day.
func (d Dimension) Period() time.Duration {
	if d == RPD || d == TPD {
		return 24 * time.Hour
	}
	return time.Minute
}
