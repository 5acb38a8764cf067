package proxy

import (
	"errors"
	"io"
	"log/slog"
)

// limitedBody aborts a response stream that grows past the limit, and
// logs it: a configured size limit fails loudly, never as a silent cut.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	log  *slog.Logger
	host string
}

var errStreamTooLarge = errors.New("upstream response exceeded the proxy's size limit; stream aborted")

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Exactly at the limit is fine if the stream ends here.
		var one [1]byte
		if n, err := b.rc.Read(one[:]); n == 0 && err != nil {
			return 0, err
		}
		b.log.Warn("response aborted: over the size limit", "host", b.host)
		return 0, errStreamTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
