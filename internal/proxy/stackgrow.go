package proxy

// stackPreGrow is what growStack adds to a goroutine's stack: enough that
// a request's whole path through the handler (authorization, matching,
// httputil.ReverseProxy, the upstream leg) runs without growing it again.
const stackPreGrow = 8 << 10

// growStack grows the calling goroutine's stack by stackPreGrow bytes at
// once. net/http's HTTP/2 server runs every request on a new goroutine
// with a small stack; left alone, that stack grows in steps deep inside
// the request, and each step copies the stack and adjusts every frame on
// it: in the c=32 HTTP/2 benchmark that was a third of the proxy's CPU
// (docs/performance.md). Growing it once at the handler's entry, with
// few frames on the stack, costs a fraction of that.
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
