package proxy

// stackPreGrow is what growStack adds to a goroutine's stack: enough that
// a request's whole path through the handler (authorization, matching,
// httputil.ReverseProxy, the upstream leg) runs without growing it again.
const stackPreGrow = 8 << 10

// growStack grows the calling goroutine's stack by stackPreGrow bytes at
// once. A new goroutine starts with a small stack; left alone, the stack
// grows in steps deep inside a request, and each step copies the stack
// and adjusts every frame on it. net/http's HTTP/2 server runs every
// request on a new goroutine: in the c=32 HTTP/2 benchmark those copies
// were a third of the proxy's CPU (docs/performance.md). Growing the stack
// once at the goroutine's entry, with few frames on it, costs a fraction
// of that. (The zeroed pad costs about as much as copying it: call this
// where a goroutine starts, not on every request of a long-lived one.)
//
//go:noinline
func growStack() {
	var pad [stackPreGrow]byte
	touchStack(pad[:])
}

// touchStack uses the pad so that the compiler keeps it on the stack.
//
//go:noinline
func touchStack(b []byte) { b[len(b)-1] = 0 }
