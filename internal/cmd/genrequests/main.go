// Command genrequests writes the request files of testdata/requests: realistic Claude
// Messages and OpenAI Chat Completions requests, one compact JSON object per line, for the
// CLI's tests and demos, and a README.md that lists the files, their shapes, the bad
// lines of bad-10.jsonl, and what mixed-500.jsonl costs against the simulated server.
//
// Files:
//
//   - mixed-500.jsonl: 500 Claude requests of every kind (prose, code review, JSON
//     extraction, Chinese, Russian, tools and tool loops, images, PDFs, chats), 70% plain
//     Messages bodies and 30% in the Message Batches shape {"custom_id", "params"}.
//   - openai-50.jsonl: 50 OpenAI Chat Completions requests, half in the Batch API's file
//     shape {"custom_id", "method", "url", "body"}.
//   - bad-10.jsonl: 5 good requests and 5 bad lines for error-handling tests.
//   - small-20.jsonl: 20 small Claude requests for fast tests.
//
// The output is byte-for-byte deterministic: every line is drawn from a seeded
// math/rand/v2 PCG, nothing depends on map order or the clock, and the PNG and PDF files
// are written by hand (not by a compressor that could change between Go releases). The
// README's token figures are measured with simapi.Server.InputTokens, so they change if the
// simulated server's counter does. The test (main_test.go) regenerates the files into a
// temporary directory and fails when they differ from the committed ones.
//
// Rerun it from anywhere inside the module after changing it:
//
//	go run ./internal/cmd/genrequests
//
// The -out flag names another directory; by default it writes testdata/requests under the
// module root, found by walking up from the working directory to the go.mod of
// github.com/ratekeeper/ratekeeper.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const modulePath = "github.com/ratekeeper/ratekeeper"

func main() {
	out := flag.String("out", "", "directory to write the files into (default: testdata/requests under the module root)")
	flag.Parse()
	dir := *out
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, "genrequests:", err)
			os.Exit(1)
		}
		dir = filepath.Join(root, "testdata", "requests")
	}
	files, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genrequests:", err)
		os.Exit(1)
	}
	if err := writeFiles(dir, files); err != nil {
		fmt.Fprintln(os.Stderr, "genrequests:", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Printf("%-18s %4d lines %9d bytes\n", f.name, bytes.Count(f.data, []byte("\n")), len(f.data))
	}
}

// moduleRoot walks up from the working directory to the go.mod of this module.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			if strings.TrimSpace(first) == "module "+modulePath {
				return dir, nil
			}
			return "", fmt.Errorf("%s/go.mod is not the module %s; run inside it or give -out", dir, modulePath)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory; run inside the module or give -out")
		}
		dir = parent
	}
}

type file struct {
	name string
	data []byte
}

// generate returns the files, in the order the README lists them (README.md last).
func generate() ([]file, error) {
	mixed, mixedLines, err := mixedFile()
	if err != nil {
		return nil, err
	}
	openai, err := openAIFile()
	if err != nil {
		return nil, err
	}
	bad, err := badFile()
	if err != nil {
		return nil, err
	}
	small, err := smallFile()
	if err != nil {
		return nil, err
	}
	files := []file{
		{"mixed-500.jsonl", mixed},
		{"openai-50.jsonl", openai},
		{"bad-10.jsonl", bad},
		{"small-20.jsonl", small},
	}
	st, err := measure(mixedLines)
	if err != nil {
		return nil, err
	}
	files = append(files, file{"README.md", readme(files, st)})
	return files, nil
}

func writeFiles(dir string, files []file) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// encode appends v as one compact JSON line, without HTML escaping (code keeps its < > &).
func encode(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
