package batch

import (
	"bytes"
	"encoding/json"
)

// bodyOverhead is the bytes of a create body around its items:
// {"requests":[ and ]}.
const bodyOverhead = len(`{"requests":[]}`)

// item is a request ready to submit: its encoded form in a create body.
type item struct {
	index int    // in the caller's requests
	id    string // custom_id
	enc   []byte // {"custom_id":…,"params":…}
}

// encode gives r's form in a create body.
func encode(r Request) ([]byte, error) {
	id, err := json.Marshal(r.CustomID)
	if err != nil {
		return nil, err
	}
	var params bytes.Buffer
	if err := json.Compact(&params, r.Params); err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(id)+params.Len()+len(`{"custom_id":,"params":}`))
	b = append(b, `{"custom_id":`...)
	b = append(b, id...)
	b = append(b, `,"params":`...)
	b = append(b, params.Bytes()...)
	return append(b, '}'), nil
}

// take returns how many of the items at the head of pending go into the
// next batch: at most maxItems, within maxBytes for the whole body.
func take(pending []item, maxItems int64, maxBytes int64) int {
	size := int64(bodyOverhead)
	n := 0
	for _, it := range pending {
		if int64(n) >= maxItems {
			break
		}
		add := int64(len(it.enc))
		if n > 0 {
			add++ // the comma
		}
		if size+add > maxBytes {
			break
		}
		size += add
		n++
	}
	return n
}

// body is the create body of items.
func body(items []item) []byte {
	size := bodyOverhead
	for _, it := range items {
		size += len(it.enc) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"requests":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it.enc...)
	}
	return append(b, `]}`...)
}

// itemFits reports whether an encoded item fits a batch on its own.
func itemFits(enc []byte, maxBytes int64) bool {
	return int64(bodyOverhead+len(enc)) <= maxBytes
}
