// Package bpe counts tokens with tiktoken's byte-pair-encoding vocabularies, for
// tokencount.WithCounter. It is a separate package so that only programs that import it
// carry the vocabularies (about 7 MB, embedded by tiktoken-go-loader); the default
// heuristic of package tokencount needs none.
//
// Most callers should call Load(O200K) once at startup and pass the Counter to
// tokencount.New:
//
//	c, err := bpe.Load(bpe.O200K)
//	if err != nil { ... }
//	e, err := tokencount.New(tokencount.WithCounter(c))
//
// Load reads the vocabulary embedded in the binary (no network call, ever), once per
// encoding per process: ~0.1–0.2 s and 11–22 MiB of heap on the first call, nothing on
// later ones. Counting is linear in the length of the text: runs of one character class
// (letters, digits, whitespace, other) longer than 128 bytes are cut before they reach
// tiktoken-go, whose byte-pair merge is quadratic in the piece length, so base64 blobs,
// minified data or one huge word cost linear time (their counts change slightly); other
// text is handed over in ~2 KiB chunks cut at word boundaries, which leaves counts equal
// to tiktoken-go's and is faster than one large call.
//
// Against a server that does not count like tiktoken (Claude), BPE counts are no more
// accurate than tokencount's calibrated heuristic; they are useful for OpenAI models,
// whose tokenizers these are.
//
// The loaded encodings are the package's only mutable global state; a Counter is safe
// for concurrent use by multiple goroutines.
package bpe
