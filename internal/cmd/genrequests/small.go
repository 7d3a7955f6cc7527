package main

import (
	"bytes"
	"fmt"
)

// ---------------------------------------------------------------------------------------
// small-20

func smallFile() ([]byte, error) {
	kinds := []string{"cls", "sum", "tr", "ext", "rev-go", "zh", "ru", "chat", "cls", "sum",
		"rev-py", "ext", "qa", "tr", "cls", "sum", "chat", "ru", "zh", "ext"}
	var buf bytes.Buffer
	for i, kind := range kinds {
		g := newGen(seedSmall, uint64(i+1))
		model := sonnet
		if i%5 == 3 {
			model = haiku
		}
		req := &claudeRequest{Model: model, MaxTokens: []int{64, 128, 192, 256}[g.r.IntN(4)]}
		g.build(req, kind, g.intn(200, 900), i)
		req.Temperature = g.temperature(kind)
		req.Stream = i == 2 || i == 9 || i == 16
		l := &claudeLine{req: req}
		if i%2 == 1 && !req.Stream {
			l.id = fmt.Sprintf("small-%02d", i+1)
		}
		if err := l.write(&buf); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
