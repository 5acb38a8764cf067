package redact

import "io"

// Reader redacts what it reads from src, passing on each read at once
// except a tail that may still grow into a value. When nothing is held
// and a read holds no value, the bytes are handed on in place, without a
// copy.
type Reader struct {
	src io.Reader
	st  Stream
	out []byte // redacted output not yet returned: out[off:]
	off int
	err error
}

// Reader wraps src. On a nil *Set it reads src unchanged.
func (s *Set) Reader(src io.Reader) *Reader {
	r := &Reader{}
	r.Init(s, src)
	return r
}

// Init sets up a Reader in place (one allocation less for a caller that
// embeds it).
func (r *Reader) Init(s *Set, src io.Reader) {
	r.src = src
	r.st.init(s)
}

// Count is the number of values replaced so far.
func (r *Reader) Count() int { return r.st.Count() }

func (r *Reader) Read(p []byte) (int, error) {
	for {
		if r.off < len(r.out) {
			n := copy(p, r.out[r.off:])
			r.off += n
			return n, nil
		}
		if r.err != nil {
			return 0, r.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		n, err := r.src.Read(p)
		if n > 0 {
			if safe, ok := r.st.Safe(p[:n]); ok {
				r.end(err)
				if safe > 0 {
					return safe, nil
				}
				continue
			}
			r.out, r.off = r.st.Write(r.out[:0], p[:n]), 0
		}
		r.end(err)
	}
}

// end records the source's error: at EOF what is held is emitted (it was
// no value after all); after any other error it is dropped, since it may be
// the start of a value cut short.
func (r *Reader) end(err error) {
	if err == nil {
		return
	}
	if err == io.EOF {
		r.out = r.st.Flush(r.out)
	}
	r.err = err
}
