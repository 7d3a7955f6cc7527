package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ratekeeper/ratekeeper/tier"
)

// TestTiersText: the text tables of both providers, against golden files.
func TestTiersText(t *testing.T) {
	for _, p := range []string{"anthropic", "openai"} {
		t.Run(p, func(t *testing.T) {
			out, _, err := runCmd(t, "", "tiers", "--provider", p)
			if err != nil {
				t.Fatal(err)
			}
			assertGolden(t, "tiers-"+p+".golden", []byte(out))
		})
	}
	out, _, err := runCmd(t, "", "tiers")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "Start (start; current scheme") {
		t.Errorf("the default provider is not anthropic:\n%s", out)
	}
}

// TestTiersJSON: --json lists every tier in order, every preset row once,
// with the same keys in every object.
func TestTiersJSON(t *testing.T) {
	for _, p := range []tier.Provider{tier.Anthropic, tier.OpenAI} {
		out, _, err := runCmd(t, "", "tiers", "--json", "--provider", string(p))
		if err != nil {
			t.Fatal(err)
		}
		var got []map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: %v\n%s", p, err, out)
		}
		var names []string
		for _, ti := range tier.Tiers(p) {
			names = append(names, ti.Name)
		}
		var gotNames []string
		rows := 0
		var keys, classKeys []string
		for _, o := range got {
			gotNames = append(gotNames, o["tier"].(string))
			if k := mapKeys(o); keys == nil {
				keys = k
			} else if !slices.Equal(k, keys) {
				t.Errorf("%s %s: keys %v, want %v", p, o["tier"], k, keys)
			}
			for _, c := range o["classes"].([]any) {
				rows++
				if k := mapKeys(c.(map[string]any)); classKeys == nil {
					classKeys = k
				} else if !slices.Equal(k, classKeys) {
					t.Errorf("%s %s: class keys %v, want %v", p, o["tier"], k, classKeys)
				}
			}
		}
		if !slices.Equal(gotNames, names) {
			t.Errorf("%s: tiers %v, want %v", p, gotNames, names)
		}
		if want := len(tier.Presets(p)); rows != want {
			t.Errorf("%s: %d class rows, want the %d presets", p, rows, want)
		}
		if p == tier.OpenAI && !strings.Contains(out, "--config") {
			t.Errorf("openai --json does not point at --config:\n%s", out)
		}
	}
	out, _, err := runCmd(t, "", "tiers", "--json")
	if err != nil {
		t.Fatal(err)
	}
	assertGolden(t, "tiers-anthropic.json.golden", []byte(out))
}

// mapKeys returns m's keys, sorted.
func mapKeys(m map[string]any) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return k
}

// TestTiersErrors: a bad provider or an argument is a usage error.
func TestTiersErrors(t *testing.T) {
	_, _, err := runCmd(t, "", "tiers", "--provider", "mistral")
	assertUsageError(t, err, "mistral", "anthropic or openai")
	_, _, err = runCmd(t, "", "tiers", "build")
	assertUsageError(t, err)
	_, _, err = runCmd(t, "", "tiers", "--jsn")
	assertUsageError(t, err, "--jsn")
}

// TestTiersHelp: --help shows the flags and what is printed.
func TestTiersHelp(t *testing.T) {
	assertHelp(t, "tiers", "--provider", "--json", "RPM", "ITPM", "OTPM", "Batches", "--config")
}
