package redistest

import "testing"

func TestHashTag(t *testing.T) {
	for _, c := range []struct{ key, want string }{
		{"plain", "plain"},
		{"rk:{0123abcd:pool}", "0123abcd:pool"},
		{"{a}{b}", "a"},
		{"x{}y{z}", "x{}y{z}"}, // an empty first tag: the whole key
		{"x{y", "x{y"},
		{"x}y{z}", "z"},
	} {
		if got := hashTag(c.key); got != c.want {
			t.Errorf("hashTag(%q) = %q; want %q", c.key, got, c.want)
		}
	}
}
