package proxy

import (
	"net/http"
	"testing"
	"time"
)

// TestOwnerTransportsDropIdleOwners: each owner gets a transport of its
// own, the same one on every request, and an owner that sent nothing for
// longer than the idle timeout loses it, so that agents that come and go
// leave nothing behind.
func TestOwnerTransportsDropIdleOwners(t *testing.T) {
	clock := time.Unix(1_000_000, 0)
	o := newOwnerTransports(&http.Transport{IdleConnTimeout: 90 * time.Second})
	o.now = func() time.Time { return clock }
	a, b := poolOwner{"v1", "agent-id:a"}, poolOwner{"v1", "agent-id:b"}
	ta := o.transport(a)
	if o.transport(a) != ta {
		t.Fatal("one owner got two transports")
	}
	if o.transport(b) == ta {
		t.Fatal("two owners share a transport")
	}
	if o.transport(poolOwner{"v2", "agent-id:a"}) == ta {
		t.Fatal("one actor shares a transport across vaults")
	}
	clock = clock.Add(60 * time.Second)
	o.transport(a) // a stays in use; b and the other vault's do not
	clock = clock.Add(60 * time.Second)
	o.transport(a)
	if n := o.owners(); n != 1 {
		t.Fatalf("%d owners kept after 120 s, want only the one still in use", n)
	}
	if o.transport(a) != ta {
		t.Fatal("the owner in use lost its transport")
	}
}
