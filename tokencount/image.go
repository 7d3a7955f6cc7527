package tokencount

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// errImageFormat reports image data whose dimensions could not be read.
var errImageFormat = errors.New("tokencount: unrecognized image header")

// source gives random access to the bytes of a payload without materializing it.
type source interface {
	// at returns up to n bytes starting at off; fewer at the end of the data.
	at(off, n int) []byte
	// size returns the decoded size in bytes (an upper bound for base64).
	size() int
}

// plainSource is a source over bytes in memory.
type plainSource []byte

func (p plainSource) at(off, n int) []byte {
	if off < 0 || off >= len(p) || n <= 0 {
		return nil
	}
	return p[off:min(len(p), off+n)]
}

func (p plainSource) size() int { return len(p) }

// b64Source decodes ranges of standard base64 text on demand: bytes [off, off+n) of the
// payload live in base64 characters [off/3*4, (off+n+2)/3*4), so reading an image
// header or skipping a JPEG segment costs O(n), not O(len(payload)).
type b64Source struct {
	raw []byte // base64 text without whitespace or escapes
	buf [512]byte
}

func newB64Source(raw []byte) *b64Source {
	if bytes.ContainsAny(raw, "\\ \r\n\t") {
		clean := make([]byte, 0, len(raw))
		for _, c := range unescape(nil, raw) {
			if c != ' ' && c != '\r' && c != '\n' && c != '\t' {
				clean = append(clean, c)
			}
		}
		raw = clean
	}
	return &b64Source{raw: raw}
}

func (s *b64Source) size() int { return len(s.raw) / 4 * 3 }

func (s *b64Source) at(off, n int) []byte {
	if off < 0 || n <= 0 {
		return nil
	}
	n = min(n, len(s.buf)-6)
	q := off / 3
	a := q * 4
	if a >= len(s.raw) {
		return nil
	}
	b := min(len(s.raw), ((off+n+2)/3)*4)
	chunk := s.raw[a:b]
	enc := base64.StdEncoding
	if len(chunk)%4 != 0 {
		enc = base64.RawStdEncoding
		chunk = bytes.TrimRight(chunk, "=")
	}
	m, err := enc.Decode(s.buf[:], chunk)
	if err != nil && m == 0 {
		return nil
	}
	d := s.buf[:m]
	skip := off - q*3
	if skip >= len(d) {
		return nil
	}
	return d[skip:min(len(d), skip+n)]
}

// imageSize reads the width and height of a PNG, JPEG, GIF or WebP image from its
// header, without decoding the image.
func imageSize(src source) (w, h int, err error) {
	hd := src.at(0, 32)
	switch {
	case len(hd) >= 24 && bytes.HasPrefix(hd, []byte("\x89PNG\r\n\x1a\n")) && string(hd[12:16]) == "IHDR":
		w = int(binary.BigEndian.Uint32(hd[16:20]))
		h = int(binary.BigEndian.Uint32(hd[20:24]))
	case len(hd) >= 10 && (bytes.HasPrefix(hd, []byte("GIF87a")) || bytes.HasPrefix(hd, []byte("GIF89a"))):
		w = int(binary.LittleEndian.Uint16(hd[6:8]))
		h = int(binary.LittleEndian.Uint16(hd[8:10]))
	case len(hd) >= 30 && string(hd[0:4]) == "RIFF" && string(hd[8:12]) == "WEBP":
		switch string(hd[12:16]) {
		case "VP8 ":
			if hd[23] != 0x9d || hd[24] != 0x01 || hd[25] != 0x2a {
				return 0, 0, errImageFormat
			}
			w = int(binary.LittleEndian.Uint16(hd[26:28]) & 0x3fff)
			h = int(binary.LittleEndian.Uint16(hd[28:30]) & 0x3fff)
		case "VP8L":
			if hd[20] != 0x2f {
				return 0, 0, errImageFormat
			}
			bits := binary.LittleEndian.Uint32(hd[21:25])
			w = int(bits&0x3fff) + 1
			h = int(bits>>14&0x3fff) + 1
		case "VP8X":
			// Canvas width and height less one, 24-bit little-endian at
			// 24 and 27: the top three bytes of the 32-bit words that end
			// there (the header may stop at byte 30).
			w = int(binary.LittleEndian.Uint32(hd[23:27])>>8) + 1
			h = int(binary.LittleEndian.Uint32(hd[26:30])>>8) + 1
		default:
			return 0, 0, errImageFormat
		}
	case len(hd) >= 4 && hd[0] == 0xff && hd[1] == 0xd8:
		w, h, err = jpegSize(src)
		if err != nil {
			return 0, 0, err
		}
	default:
		return 0, 0, errImageFormat
	}
	if w <= 0 || h <= 0 {
		return 0, 0, errImageFormat
	}
	return w, h, nil
}

// jpegSize walks the JPEG marker segments up to the first start-of-frame marker.
func jpegSize(src source) (w, h int, err error) {
	off := 2
	for range 4096 { // bounded: hostile input cannot loop for long
		m := src.at(off, 2)
		if len(m) < 2 {
			return 0, 0, errImageFormat
		}
		if m[0] != 0xff {
			return 0, 0, errImageFormat
		}
		marker := m[1]
		switch {
		case marker == 0xff: // fill byte
			off++
			continue
		case marker == 0x01 || marker == 0xd8 || 0xd0 <= marker && marker <= 0xd7: // standalone
			off += 2
			continue
		case marker == 0xd9 || marker == 0xda: // EOI or SOS before any SOF
			return 0, 0, errImageFormat
		}
		seg := src.at(off+2, 7)
		if len(seg) < 2 {
			return 0, 0, errImageFormat
		}
		length := int(binary.BigEndian.Uint16(seg[0:2]))
		if length < 2 {
			return 0, 0, errImageFormat
		}
		if 0xc0 <= marker && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc {
			if len(seg) < 7 {
				return 0, 0, errImageFormat
			}
			h = int(binary.BigEndian.Uint16(seg[3:5]))
			w = int(binary.BigEndian.Uint16(seg[5:7]))
			return w, h, nil
		}
		off += 2 + length
	}
	return 0, 0, errImageFormat
}

// imageRule is a provider's image token formula.
type imageRule struct {
	kind      imageKind
	maxEdge   int     // long edge after downscaling (Anthropic)
	maxTokens int64   // cap per image (Anthropic), or cap in patches (OpenAI patch rule)
	patch     int     // patch edge in pixels; 0 means area/750 (Anthropic)
	mult      float64 // OpenAI patch multiplier; 0 means 1
	tileBase  int64   // OpenAI tile rule: base tokens
	tilePer   int64   // OpenAI tile rule: tokens per 512-px tile
}

type imageKind uint8

const (
	imageAnthropic imageKind = iota
	imageOpenAITiles
	imageOpenAIPatches
)

var (
	// Claude before Opus 4.7: tokens = w*h/750 after fitting the long edge in 1568 px,
	// capped at ~1,600 tokens.
	ruleClaudeClassic = imageRule{kind: imageAnthropic, maxEdge: 1568, maxTokens: 1600}
	// Opus 4.7 and later, and the "5" models: 2576 px long edge, ~4,784 tokens, counted in
	// 28-px patches.
	ruleClaudeLarge = imageRule{kind: imageAnthropic, maxEdge: 2576, maxTokens: 4784, patch: 28}
	// GPT-4o family: 85 + 170 per 512-px tile after fitting 2048 px and a 768-px short side.
	ruleOpenAITiles = imageRule{kind: imageOpenAITiles, tileBase: 85, tilePer: 170}
	// GPT-4o mini bills images at ~33x the tile rule.
	ruleOpenAITilesMini = imageRule{kind: imageOpenAITiles, tileBase: 2833, tilePer: 5667}
)

// tokens returns the image's token cost. w or h ≤ 0 means unknown dimensions, which
// cost the rule's maximum. lowDetail selects OpenAI's fixed low-detail cost.
func (r imageRule) tokens(w, h int, lowDetail bool) int64 {
	switch r.kind {
	case imageOpenAITiles:
		if lowDetail {
			return r.tileBase
		}
		if w <= 0 || h <= 0 {
			return r.tileBase + 8*r.tilePer // 768x2048 after scaling: 2x4 tiles
		}
		fw, fh := float64(w), float64(h)
		if m := max(fw, fh); m > 2048 {
			fw, fh = fw*2048/m, fh*2048/m
		}
		if s := min(fw, fh); s > 768 {
			fw, fh = fw*768/s, fh*768/s
		}
		tiles := int64(ceilDiv(fw, 512) * ceilDiv(fh, 512))
		return r.tileBase + tiles*r.tilePer
	case imageOpenAIPatches:
		patches := float64(r.maxTokens)
		if w > 0 && h > 0 && !lowDetail {
			patches = min(patches, ceilDiv(float64(w), 32)*ceilDiv(float64(h), 32))
		}
		return int64(patches*max(r.mult, 1) + 0.999)
	}
	if w <= 0 || h <= 0 {
		return r.maxTokens
	}
	fw, fh := float64(w), float64(h)
	if m := max(fw, fh); m > float64(r.maxEdge) {
		fw, fh = fw*float64(r.maxEdge)/m, fh*float64(r.maxEdge)/m
	}
	var t float64
	if r.patch > 0 {
		t = ceilDiv(fw, float64(r.patch)) * ceilDiv(fh, float64(r.patch))
	} else {
		t = ceilDiv(fw*fh, 750)
	}
	return max(1, min(int64(t), r.maxTokens))
}

func ceilDiv(a, b float64) float64 {
	q := a / b
	if f := float64(int64(q)); f < q {
		return f + 1
	}
	return float64(int64(q))
}

// maxPDFPages is the API's page limit per document.
const maxPDFPages = 600

// pdfBytesPerPage is the fallback page estimate when no page count is visible (object
// streams compress the page tree): one page per this many bytes.
const pdfBytesPerPage = 16 << 10

// pdfPages estimates the page count of a PDF without parsing it: the largest
// "/Count N" (the page tree root's count), else the number of "/Type /Page" objects,
// else one page per pdfBytesPerPage. The result is in [1, maxPDFPages].
func pdfPages(src source) int64 {
	const window = 384
	const overlap = 32
	var pages, maxCount int64
	size := src.size()
	for off := 0; off < size; off += window - overlap {
		chunk := src.at(off, window)
		if len(chunk) == 0 {
			break
		}
		// Count only matches that start before the overlap, so none is seen twice.
		limit := len(chunk)
		if len(chunk) == window {
			limit = window - overlap
		}
		for i := 0; i < limit; {
			j := bytes.IndexByte(chunk[i:limit], '/')
			if j < 0 {
				break
			}
			i += j
			rest := chunk[i:]
			switch {
			case bytes.HasPrefix(rest, []byte("/Type")):
				k := 5
				for k < len(rest) && (rest[k] == ' ' || rest[k] == '\n' || rest[k] == '\r') {
					k++
				}
				if bytes.HasPrefix(rest[k:], []byte("/Page")) && (len(rest) == k+5 || rest[k+5] != 's') {
					pages++
				}
			case bytes.HasPrefix(rest, []byte("/Count")):
				k := 6
				for k < len(rest) && rest[k] == ' ' {
					k++
				}
				var n int64
				for k < len(rest) && '0' <= rest[k] && rest[k] <= '9' && n < 1e6 {
					n = n*10 + int64(rest[k]-'0')
					k++
				}
				maxCount = max(maxCount, n)
			}
			i++
		}
		if len(chunk) < window {
			break
		}
	}
	switch {
	case maxCount > 0:
		pages = maxCount
	case pages == 0:
		pages = int64(size/pdfBytesPerPage) + 1
	}
	return max(1, min(pages, maxPDFPages))
}
