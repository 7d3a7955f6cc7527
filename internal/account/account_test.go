package account

import "testing"

// TestID pins the identifier: budgets shared through Redis are found by
// it, so it must not change between versions.
func TestID(t *testing.T) {
	for _, c := range []struct{ key, want string }{
		{"", "e3b0c44298fc1c14"},
		{"sk-ant-test", "cdba95a3170e3a31"},
	} {
		if got := ID(c.key); got != c.want {
			t.Errorf("ID(%q) = %q; want %q", c.key, got, c.want)
		}
	}
}
