package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"strings"
)

// The PNG and PDF files are written by hand, byte by byte, so that they do not depend on
// the compressor of the Go release that runs the generator.

// solidPNG returns a valid w×h PNG of one colour: 8-bit indexed, a one-entry palette, and
// image data that is all zero bytes (filter 0, index 0), deflated with fixed Huffman
// codes as one literal and then back-references of length 258 at distance 1.
func solidPNG(w, h int, r, g, b byte) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(data)))
		out.Write(n[:])
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.BigEndian.PutUint32(n[:], crc.Sum32())
		out.Write(n[:])
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8] = 8 // bit depth
	ihdr[9] = 3 // indexed colour
	chunk("IHDR", ihdr)
	chunk("PLTE", []byte{r, g, b})
	chunk("IDAT", zlibZeros(h*(w+1)))
	chunk("IEND", nil)
	return out.Bytes()
}

// bitWriter writes a deflate bit stream (least significant bit first).
type bitWriter struct {
	buf   []byte
	acc   uint32
	nbits uint
}

func (bw *bitWriter) bits(v uint32, n uint) {
	bw.acc |= v << bw.nbits
	bw.nbits += n
	for bw.nbits >= 8 {
		bw.buf = append(bw.buf, byte(bw.acc))
		bw.acc >>= 8
		bw.nbits -= 8
	}
}

// code writes a Huffman code of n bits, most significant bit first.
func (bw *bitWriter) code(c uint32, n uint) {
	var rev uint32
	for i := uint(0); i < n; i++ {
		rev = rev<<1 | (c>>i)&1
	}
	bw.bits(rev, n)
}

func (bw *bitWriter) flush() []byte {
	if bw.nbits > 0 {
		bw.buf = append(bw.buf, byte(bw.acc))
	}
	return bw.buf
}

// zlibZeros returns a zlib stream of n (≥ 1) zero bytes.
func zlibZeros(n int) []byte {
	bw := &bitWriter{buf: []byte{0x78, 0x01}}
	bw.bits(1, 1) // BFINAL
	bw.bits(1, 2) // BTYPE 01: fixed Huffman codes
	const (
		lit0   = 0x30 // literal 0: 8 bits 00110000
		len258 = 0xC5 // length code 285 (258, no extra bits): 8 bits 11000101
		eob    = 0    // end of block, code 256: 7 bits 0000000
	)
	bw.code(lit0, 8)
	rest := n - 1
	for ; rest >= 258; rest -= 258 {
		bw.code(len258, 8)
		bw.code(0, 5) // distance code 0: distance 1
	}
	for ; rest > 0; rest-- {
		bw.code(lit0, 8)
	}
	bw.code(eob, 7)
	out := bw.flush()
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], adler32.Checksum(make([]byte, n)))
	return append(out, sum[:]...)
}

// minimalPDF returns a valid PDF of len(pages) pages, each showing its lines of text in
// Helvetica, with a correct cross-reference table. Every page is a "/Type /Page" object.
func minimalPDF(title string, pages [][]string) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	n := len(pages)
	// Objects: 1 catalog, 2 pages, 3 font, 4 info, then per page: page, contents.
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, n)
	for i := range kids {
		kids[i] = fmt.Sprintf("%d 0 R", 5+2*i)
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	obj(fmt.Sprintf("<< /Title (%s) /Producer (ratekeeper genrequests) >>", pdfEscape(title)))
	for i, lines := range pages {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 6+2*i))
		var s strings.Builder
		s.WriteString("BT\n/F1 11 Tf\n14 TL\n72 720 Td\n")
		for _, l := range lines {
			fmt.Fprintf(&s, "(%s) '\n", pdfEscape(l))
		}
		s.WriteString("ET")
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", s.Len(), s.String()))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

func pdfEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return r.Replace(s)
}

// wrap splits text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	var cur strings.Builder
	for _, w := range strings.Fields(text) {
		if cur.Len() > 0 && cur.Len()+1+len(w) > width {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(w)
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}
