package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ratekeeper/ratekeeper/tier"
)

const doctorLong = `Check an API key's rate limits, the seed's "quick diagnostic checklist"
automated: one free count_tokens call (Anthropic) and one max_tokens: 1
call, then the limits the server reports per dimension, the tier and naming
scheme they match, a mismatch with the budget configured (--tier or
--config), spend-limit or overload signals, and what to do next.

With ANTHROPIC_API_KEY (or OPENAI_API_KEY) against the API, or --simulate
against the embedded simulated one. The max_tokens: 1 call costs a few
tokens; the key is never printed.`

// doctorFlags are doctor's flags.
type doctorFlags struct {
	budget   budgetFlags
	sim      simFlags
	simulate bool
	baseURL  string
	model    string
	timeout  time.Duration
}

func newDoctorCmd(e *env) *cobra.Command {
	f := &doctorFlags{}
	cmd := &cobra.Command{
		Use:   "doctor [--simulate] [--model M] [--tier T | --config F]",
		Short: "Check a key's limits, tier and signals, and say what to do",
		Long:  doctorLong,
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !c.Flags().Changed("tier") && f.simulate {
				f.budget.tier = "tier-2"
			}
			ctx, cancel := context.WithTimeout(c.Context(), f.timeout)
			defer cancel()
			return doctor(ctx, e, f)
		},
	}
	fs := cmd.Flags()
	f.budget.register(fs, "tier-1")
	f.sim.register(fs)
	fs.BoolVar(&f.simulate, "simulate", false, "check the embedded simulated API (no API key, no network)")
	fs.StringVar(&f.baseURL, "base-url", "", "the API's base URL")
	fs.StringVar(&f.model, "model", "", "the model to check (default claude-sonnet-4-6, or gpt-4o-mini)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up after this long")
	return cmd
}

// doctorCall is one diagnostic call's answer.
type doctorCall struct {
	status int
	header http.Header
	body   []byte
}

func doctor(ctx context.Context, e *env, f *doctorFlags) error {
	p, err := f.budget.providerOf()
	if err != nil {
		return err
	}
	if f.model == "" {
		f.model = "claude-sonnet-4-6"
		if p == tier.OpenAI {
			f.model = "gpt-4o-mini"
		}
	}
	var configured *tier.Budget
	cfg, cfgErr := f.budget.load()
	if cfgErr == nil {
		if b, err := cfg.Budget(f.model); err == nil {
			configured = &b
		} else {
			cfgErr = err
		}
	}
	if f.simulate && configured == nil {
		return usageErr("--simulate needs limits for %s: %v", f.model, cfgErr)
	}
	w := e.stdout
	key, keyName := "", "ANTHROPIC_API_KEY"
	if p == tier.OpenAI {
		keyName = "OPENAI_API_KEY"
	}
	if f.simulate {
		srv, base, err := f.sim.server(p, map[string]tier.Budget{f.model: scaleBudget(*configured, f.sim.scale)})
		if err != nil {
			return err
		}
		defer srv.Close()
		if f.baseURL == "" {
			f.baseURL = base
			if p == tier.OpenAI {
				f.baseURL += "/v1"
			}
		}
		key = "sk-simulated"
		fmt.Fprintf(w, "api:        the simulated API at %s (limits of %s x%g)\n", base, f.budget.tier, f.sim.scale)
	} else {
		if key = strings.TrimSpace(e.getenv(keyName)); key == "" {
			return usageErr("no API key: set %s to check it, or add --simulate to check the simulated API (no key, no network)", keyName)
		}
		fmt.Fprintf(w, "key:        %s is set (%d characters; never printed)\n", keyName, len(key))
	}
	post := func(url string, body any) (*doctorCall, error) {
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
		if err != nil {
			return nil, usageErr("--base-url: %w", err)
		}
		req.Header.Set("content-type", "application/json")
		if p == tier.OpenAI {
			req.Header.Set("authorization", "Bearer "+key)
		} else {
			req.Header.Set("x-api-key", key)
			req.Header.Set("anthropic-version", "2023-06-01")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("the API did not answer: %w", err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, tier.MaxErrorBody))
		return &doctorCall{resp.StatusCode, resp.Header, data}, nil
	}
	var next []string
	msgs := []map[string]string{{"role": "user", "content": "Reply with one word: ok"}}

	// 1. count_tokens: free, and it proves the key and the model.
	if p == tier.Anthropic {
		base := strings.TrimRight(orDefault(f.baseURL, "https://api.anthropic.com"), "/")
		c, err := post(base+"/v1/messages/count_tokens", map[string]any{"model": f.model, "messages": msgs})
		if err != nil {
			return err
		}
		if c.status == http.StatusOK {
			var n struct {
				InputTokens int64 `json:"input_tokens"`
			}
			_ = json.Unmarshal(c.body, &n)
			fmt.Fprintf(w, "count:      count_tokens answered %d input tokens (free; limited separately)\n", n.InputTokens)
		} else {
			fmt.Fprintf(w, "count:      count_tokens answered HTTP %d: %s\n", c.status, apiMessage(p, c))
			if s := keyAdvice(c.status); s != "" {
				fmt.Fprintf(w, "next:       %s\n", s)
				return withCode(exitFailed, fmt.Errorf("count_tokens: HTTP %d", c.status))
			}
		}
	}

	// 2. One max_tokens: 1 call: its headers say the limits.
	var c *doctorCall
	if p == tier.OpenAI {
		c, err = post(endpoint(p, f.baseURL), map[string]any{"model": f.model, "max_completion_tokens": 1, "messages": msgs})
	} else {
		c, err = post(endpoint(p, f.baseURL), map[string]any{"model": f.model, "max_tokens": 1, "messages": msgs})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "call:       a max_tokens: 1 call to %s answered HTTP %d", f.model, c.status)
	if c.status/100 != 2 {
		fmt.Fprintf(w, ": %s", apiMessage(p, c))
	}
	fmt.Fprintln(w)
	now := time.Now()
	if d, err := http.ParseTime(c.header.Get("date")); err == nil {
		now = d
	}
	obs, herr := tier.ParseHeaders(p, c.header, now)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\ndimension\tlimit\tremaining\tfull again")
	reported := false
	for d, o := range obs.Dims {
		if !o.Present {
			continue
		}
		reported = true
		rem, reset := "-", "-"
		if o.Remaining >= 0 {
			rem = fmt.Sprint(o.Remaining)
			if o.Rounded {
				rem += " (±500)"
			}
		}
		if !o.Reset.IsZero() {
			reset = fmt.Sprintf("in %v", o.Reset.Sub(now).Round(time.Second))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", tier.Dimension(d), o.Limit, rem, reset)
	}
	tw.Flush()
	if !reported {
		fmt.Fprintln(w, "  (no rate-limit headers: a proxy may strip them; ratekeeper then keeps the configured budget)")
		next = append(next, "check that no proxy strips the anthropic-ratelimit-* / x-ratelimit-* headers")
	}
	if herr != nil {
		fmt.Fprintf(w, "  malformed headers: %v\n", herr)
	}
	fmt.Fprintln(w)

	// 3. The tier the limits match, and the configured budget.
	if reported {
		match := ""
		if in, err := tier.Infer(p, obs, f.model); err == nil && len(in.Matches) > 0 {
			match = in.Matches[0].Tier.Name
			names := make([]string, 0, len(in.Matches))
			for _, m := range in.Matches {
				names = append(names, fmt.Sprintf("%s (%s scheme)", m.Tier.Name, m.Tier.Scheme))
			}
			fmt.Fprintf(w, "tier:       the limits match %s\n", strings.Join(names, " or "))
		} else if p == tier.Anthropic {
			fmt.Fprintln(w, "tier:       the limits match no preset: workspace limits, a custom tier, or newer numbers than the tables")
		}
		switch {
		case configured == nil:
			fmt.Fprintf(w, "budget:     none configured for %s (%v)\n", f.model, cfgErr)
			next = append(next, "give the limits above with --config (a tier.Config) or --tier")
		default:
			if ms := tier.Compare(*configured, obs); len(ms) > 0 {
				parts := make([]string, len(ms))
				for i, m := range ms {
					parts[i] = m.String()
				}
				fmt.Fprintf(w, "budget:     the configured budget (%s) differs: %s\n", f.budget.describe(), strings.Join(parts, "; "))
				fix := "configure the limits the server reports with --config"
				if match != "" {
					fix = "configure the tier the server reports: --tier " + match
				}
				next = append(next, fix+" (ratekeeper follows the server's limits anyway once it has answered, unless WithStrictBudgets)")
			} else {
				fmt.Fprintf(w, "budget:     the configured budget (%s) agrees with the server\n", f.budget.describe())
			}
		}
	}

	// 4. Signals.
	if api, err := tier.ParseErrorBody(p, c.status, c.body); err == nil && c.status/100 != 2 {
		switch {
		case api.SpendLimit:
			fmt.Fprintln(w, "signal:     a spend limit is reached: no retry helps until it is raised (Console → Limits) or the month turns")
			next = append(next, "raise the spend limit, or wait for it to reset")
		case api.InsufficientQuota:
			fmt.Fprintln(w, "signal:     insufficient quota: the account has no credit left")
			next = append(next, "add credit to the account")
		case c.status == 529 || c.status == http.StatusServiceUnavailable || api.Type == "overloaded_error":
			fmt.Fprintln(w, "signal:     the API is overloaded right now: not your quota; ratekeeper pauses and retries these")
			next = append(next, "retry later; for bulk work that can wait, consider the Message Batches API")
		case c.status == http.StatusTooManyRequests:
			fmt.Fprintln(w, "signal:     rate limited right now: the budget is spent, perhaps by another process sharing the key")
			next = append(next, "share one budget between processes with ratekeeper's Redis store, or wait for the reset above")
		default:
			if s := keyAdvice(c.status); s != "" {
				next = append(next, s)
			}
		}
	}
	if c.status/100 == 2 && len(next) == 0 {
		next = append(next, "nothing: the key works and the budget matches; run your workload with ratekeeper run")
	}
	for i, s := range next {
		label := "next:      "
		if i > 0 {
			label = "           "
		}
		fmt.Fprintf(w, "%s %s\n", label, s)
	}
	if c.status/100 != 2 {
		return withCode(exitFailed, fmt.Errorf("the call failed: HTTP %d", c.status))
	}
	return nil
}

// describe names the configured budget.
func (b *budgetFlags) describe() string {
	if b.config != "" {
		return "--config " + b.config
	}
	return "--tier " + b.tier
}

// keyAdvice says what to do about an answer that is about the key or the
// request rather than the limits.
func keyAdvice(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "the key is not accepted: check it (and that it belongs to this API)"
	case http.StatusForbidden:
		return "the key may not use this model or endpoint: check its workspace and permissions"
	case http.StatusNotFound:
		return "the model is unknown to this key, or --base-url is wrong: check --model and --base-url"
	case http.StatusBadRequest:
		return "the API rejected the call: see the message above"
	}
	return ""
}

// apiMessage is the error of an answer, in one line.
func apiMessage(p tier.Provider, c *doctorCall) string {
	if api, err := tier.ParseErrorBody(p, c.status, c.body); err == nil {
		return api.Type + ": " + api.Message
	}
	s := strings.TrimSpace(string(c.body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
