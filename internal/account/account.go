// Package account names an API key without revealing it: the identifier
// that store keys, logs and metrics carry instead of the key.
package account

import (
	"crypto/sha256"
	"encoding/hex"
)

// ID returns a stable, non-reversible identifier of apiKey: the first 16
// hex digits (64 bits) of its SHA-256. Equal keys have equal IDs in every
// process and every version, since shared budgets in Redis are found by it.
func ID(apiKey string) string {
	sum := sha256.Sum256([]byte(apiKey))
	return hex.EncodeToString(sum[:8])
}
