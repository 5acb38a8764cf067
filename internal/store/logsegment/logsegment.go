// Package logsegment encodes the request log's rows for storage: a
// segment is up to MaxRows rows of one vault in one blob. Storing segments
// instead of a table row per request makes the log nearly free to write:
// binding 16 values per row made the pure-Go SQLite driver the proxy's
// biggest cost under load (~7.5 µs a row), a segment costs about a tenth
// of that per row, and the log is read far less often than it is written.
package logsegment

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
)

// A segment is a version byte followed by its rows, oldest first, each:
//
//	uvarint id − previous id (the first: id − the segment's first id)
//	varint  at, Unix nanoseconds
//	string  actor kind, actor name, ingress, method, host
//	uvarint port
//	string  path, service
//	uvarint number of credential key names, then each as a string
//	uvarint status, request bytes, response bytes
//	varint  duration, nanoseconds
//	string  broker error code
//
// where a string is a uvarint length and its bytes. Only the fields of
// model.RequestLog are stored, so no value, body or query can be in it.
const (
	// Version is the first byte of every segment.
	Version = 1
	// MaxRows is the most rows a writer puts in one segment, so that
	// reading one row, or trimming a segment, decodes at most this many.
	MaxRows = 256
)

// ErrCorrupt is returned for data that is not a segment.
var ErrCorrupt = errors.New("request log segment is corrupt")

// Encode appends rows (of one vault, ids ascending from firstID) to
// buf. Texts longer than model.MaxLogField are stored cut (CapLogField):
// a segment holds at most MaxRows rows of a few KiB each.
func Encode(buf []byte, firstID int64, rows []model.RequestLog) []byte {
	buf = append(buf, Version)
	prev := firstID
	for _, r := range rows {
		r = r.Capped()
		buf = binary.AppendUvarint(buf, uint64(r.ID-prev))
		prev = r.ID
		buf = binary.AppendVarint(buf, r.At.UnixNano())
		for _, s := range [...]string{string(r.ActorKind), r.ActorName, r.Ingress, r.Method, r.Host} {
			buf = appendString(buf, s)
		}
		buf = binary.AppendUvarint(buf, uint64(max(r.Port, 0)))
		buf = appendString(buf, r.Path)
		buf = appendString(buf, r.Service)
		buf = binary.AppendUvarint(buf, uint64(len(r.CredentialKeys)))
		for _, k := range r.CredentialKeys {
			buf = appendString(buf, k)
		}
		buf = binary.AppendUvarint(buf, uint64(max(r.Status, 0)))
		buf = binary.AppendUvarint(buf, uint64(max(r.RequestBytes, 0)))
		buf = binary.AppendUvarint(buf, uint64(max(r.ResponseBytes, 0)))
		buf = binary.AppendVarint(buf, int64(r.Duration))
		buf = appendString(buf, r.ErrorCode)
	}
	return buf
}

func appendString(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}

// Decode reads the rows of a segment of vaultID whose first id is
// firstID. It never panics on bad input: a segment that does not parse is
// ErrCorrupt.
func Decode(data []byte, vaultID string, firstID int64) ([]model.RequestLog, error) {
	d := segmentDecoder{b: data}
	if len(data) == 0 || data[0] != Version {
		return nil, ErrCorrupt
	}
	d.b = d.b[1:]
	var out []model.RequestLog
	id := firstID
	for len(d.b) > 0 && d.err == nil {
		var r model.RequestLog
		delta := d.uvarint()
		if delta > math.MaxInt64/2 || (len(out) > 0 && delta == 0) {
			return nil, ErrCorrupt
		}
		id += int64(delta)
		r.ID, r.VaultID = id, vaultID
		r.At = time.Unix(0, d.varint()).UTC()
		r.ActorKind = model.ActorKind(d.string())
		r.ActorName, r.Ingress, r.Method, r.Host = d.string(), d.string(), d.string(), d.string()
		r.Port = d.int()
		r.Path, r.Service = d.string(), d.string()
		if n := d.uvarint(); n > 0 {
			if n > uint64(len(d.b)) { // each name takes at least a byte
				return nil, ErrCorrupt
			}
			r.CredentialKeys = make([]string, n)
			for i := range r.CredentialKeys {
				r.CredentialKeys[i] = d.string()
			}
		}
		r.Status = d.int()
		r.RequestBytes, r.ResponseBytes = int64(d.int()), int64(d.int())
		r.Duration = time.Duration(d.varint())
		r.ErrorCode = d.string()
		out = append(out, r)
	}
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}

// segmentDecoder reads fields until the first error, which sticks.
type segmentDecoder struct {
	b   []byte
	err error
}

func (d *segmentDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *segmentDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int is a non-negative uvarint that fits an int.
func (d *segmentDecoder) int() int {
	v := d.uvarint()
	if v > uint64(math.MaxInt) {
		d.err = ErrCorrupt
		return 0
	}
	return int(v)
}

func (d *segmentDecoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = ErrCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
