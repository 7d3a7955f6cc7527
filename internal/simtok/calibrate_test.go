//go:build simtok_calibrate

// Calibration against o200k_base, run by hand:
//
//	go test -tags simtok_calibrate -run Calibrate -v ./internal/simtok
package simtok

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	tiktoken "github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

func TestCalibrate(t *testing.T) {
	tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
	enc, err := tiktoken.GetEncoding("o200k_base")
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Skip(err)
		}
		return string(b)
	}
	goroot := runtime.GOROOT()
	var js strings.Builder
	for i := range 200 {
		b, _ := json.Marshal(map[string]any{"id": i, "name": "customer record", "active": i%2 == 0, "tags": []string{"alpha", "beta"}, "score": float64(i) * 1.37})
		js.Write(b)
		js.WriteByte('\n')
	}
	samples := map[string]string{
		"prose-gpl3":   read("/usr/share/common-licenses/GPL-3"),
		"prose-mpl":    read("/usr/share/common-licenses/MPL-2.0"),
		"prose-readme": read(filepath.Join(goroot, "README.md")),
		"code-go":      read(filepath.Join(goroot, "src/net/http/server.go")),
		"code-go2":     read(filepath.Join(goroot, "src/strings/strings.go")),
		"json":         js.String(),
		"cjk":          strings.Repeat("東京は日本の首都であり、世界で最も人口の多い都市圏の一つです。機械学習モデルは大量のデータを必要とします。", 20),
		"cyrillic":     strings.Repeat("Москва является столицей России и крупнейшим городом страны. ", 20),
		"emoji":        strings.Repeat("Great job 🎉👍 see you 😀 ", 20),
	}
	for name, s := range samples {
		o := len(enc.Encode(s, nil, nil))
		c := CountText(s)
		runes := len([]rune(s))
		t.Logf("%-14s o200k=%7d sim=%7d ratio=%.3f per-rune=%.3f", name, o, c, float64(c)/float64(o), float64(c)/float64(runes))
	}
}
