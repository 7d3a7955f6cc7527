package simtok

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
)

// URLImageTokens is the fixed charge for an image the server would have to fetch (a `url`
// or `file` source, or an OpenAI https image URL), whose size the counter cannot see.
const URLImageTokens = 1600

// PDFPageTokens is the charge per page of a base64 PDF document (text plus the page
// image), and for a PDF given by URL or file id, which counts as one page.
const PDFPageTokens = 2000

// errImage is returned when a base64 image cannot be decoded far enough to read its size.
var errImage = errors.New("simtok: could not read image dimensions")

// imageConfig decodes the width and height from the header of a base64 PNG, JPEG, GIF or
// WebP image. Only the header is decoded.
func imageConfig(b64 string) (w, h int, err error) {
	b64 = strings.TrimSpace(b64)
	enc := base64.StdEncoding
	if !strings.HasSuffix(b64, "=") && len(b64)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	br := bufio.NewReader(base64.NewDecoder(enc, strings.NewReader(b64)))
	magic, _ := br.Peek(12)
	var cfg image.Config
	switch {
	case len(magic) >= 8 && string(magic[:8]) == "\x89PNG\r\n\x1a\n":
		cfg, err = png.DecodeConfig(br)
	case len(magic) >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF:
		cfg, err = jpeg.DecodeConfig(br)
	case len(magic) >= 6 && (string(magic[:6]) == "GIF87a" || string(magic[:6]) == "GIF89a"):
		cfg, err = gif.DecodeConfig(br)
	case len(magic) >= 12 && string(magic[:4]) == "RIFF" && string(magic[8:12]) == "WEBP":
		cfg, err = webpConfig(br)
	default:
		return 0, 0, errImage
	}
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", errImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, errImage
	}
	return cfg.Width, cfg.Height, nil
}

// webpConfig reads the canvas size of a WebP file (VP8, VP8L or VP8X first chunk).
func webpConfig(r io.Reader) (image.Config, error) {
	var hdr [30]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return image.Config{}, err
	}
	chunk := string(hdr[12:16])
	d := hdr[20:]
	switch chunk {
	case "VP8 ":
		// 3-byte frame tag, 3-byte start code, then 14-bit width and height.
		if d[3] != 0x9d || d[4] != 0x01 || d[5] != 0x2a {
			return image.Config{}, errImage
		}
		w := int(binary.LittleEndian.Uint16(d[6:8]) & 0x3fff)
		h := int(binary.LittleEndian.Uint16(d[8:10]) & 0x3fff)
		return image.Config{Width: w, Height: h}, nil
	case "VP8L":
		if d[0] != 0x2f {
			return image.Config{}, errImage
		}
		bits := binary.LittleEndian.Uint32(d[1:5])
		return image.Config{Width: int(bits&0x3fff) + 1, Height: int(bits>>14&0x3fff) + 1}, nil
	case "VP8X":
		// Canvas width and height less one, 24-bit little-endian at 4
		// and 7: the top three bytes of the 32-bit words that end there.
		w := int(binary.LittleEndian.Uint32(d[3:7]) >> 8)
		h := int(binary.LittleEndian.Uint32(d[6:10]) >> 8)
		return image.Config{Width: w + 1, Height: h + 1}, nil
	}
	return image.Config{}, errImage
}

// imageLimits returns the long-edge limit in pixels and the token cap per image for a
// Claude model: 2576 px and 4,784 tokens for Opus 4.7 and later and the 5.x generation,
// 1568 px and 1,600 tokens before.
func imageLimits(model string) (maxEdge float64, maxTokens int64) {
	if largeImageModel(model) {
		return 2576, 4784
	}
	return 1568, 1600
}

func largeImageModel(model string) bool {
	rest, ok := strings.CutPrefix(model, "claude-")
	if !ok {
		return false
	}
	parts := strings.Split(rest, "-")
	if len(parts) < 2 {
		return false
	}
	if parts[0] == "mythos" {
		return true
	}
	major, err := strconv.Atoi(parts[1])
	if err != nil {
		return false
	}
	minor := 0
	if len(parts) > 2 && len(parts[2]) <= 2 {
		minor, _ = strconv.Atoi(parts[2])
	}
	return major >= 5 || (major == 4 && minor >= 7)
}

// anthropicImageTokens is (w*h)/750 after the model's downscaling.
func anthropicImageTokens(w, h int, model string) int64 {
	maxEdge, maxTokens := imageLimits(model)
	fw, fh := float64(w), float64(h)
	if long := math.Max(fw, fh); long > maxEdge {
		s := maxEdge / long
		fw, fh = math.Max(1, math.Floor(fw*s)), math.Max(1, math.Floor(fh*s))
	}
	if fw*fh/750 > float64(maxTokens) {
		s := math.Sqrt(float64(maxTokens) * 750 / (fw * fh))
		fw, fh = math.Max(1, math.Floor(fw*s)), math.Max(1, math.Floor(fh*s))
	}
	return min(max(1, int64(math.Ceil(fw*fh/750))), maxTokens)
}

// openAIImageTokens is the tile formula: 85 for low detail; otherwise fit in 2048×2048,
// scale the short side down to 768, then 85 + 170 per 512-px tile.
func openAIImageTokens(w, h int, detail string) int64 {
	if detail == "low" {
		return 85
	}
	fw, fh := float64(w), float64(h)
	if long := math.Max(fw, fh); long > 2048 {
		fw, fh = fw*2048/long, fh*2048/long
	}
	if short := math.Min(fw, fh); short > 768 {
		fw, fh = fw*768/short, fh*768/short
	}
	tiles := math.Ceil(fw/512) * math.Ceil(fh/512)
	return 85 + 170*int64(tiles)
}

// pdfPages counts page objects in a base64 PDF; at least 1.
func pdfPages(b64 string) (int64, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return 0, fmt.Errorf("simtok: invalid base64 PDF: %w", err)
	}
	s := string(raw)
	var n int64
	for _, marker := range []string{"/Type /Page", "/Type/Page"} {
		for i := 0; ; {
			j := strings.Index(s[i:], marker)
			if j < 0 {
				break
			}
			i += j + len(marker)
			if i >= len(s) || s[i] != 's' {
				n++
			}
		}
	}
	return max(n, 1), nil
}
