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
	a, b := poolOwner{vault: "v1", actor: "agent-id:a"}, poolOwner{vault: "v1", actor: "agent-id:b"}
	ta := o.transport(a)
	if o.transport(a) != ta {
		t.Fatal("one owner got two transports")
	}
	if o.transport(b) == ta {
		t.Fatal("two owners share a transport")
	}
	if o.transport(poolOwner{vault: "v2", actor: "agent-id:a"}) == ta {
		t.Fatal("one actor shares a transport across vaults")
	}
	if o.transport(poolOwner{vault: "v1", actor: "agent-id:a", service: "other"}) == ta {
		t.Fatal("one actor shares a transport across services")
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

// TestOwnerTransportsStayBounded: past the number of owners kept, the one
// unused longest loses its transport, so that however many agents and
// sessions come, the idle connections kept stay bounded; each transport
// keeps a few idle connections, not the base's many.
func TestOwnerTransportsStayBounded(t *testing.T) {
	clock := time.Unix(1_000_000, 0)
	o := newOwnerTransports(&http.Transport{IdleConnTimeout: 90 * time.Second, MaxIdleConns: 1024, MaxIdleConnsPerHost: 256})
	o.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	o.kept = 3
	owner := func(i int) poolOwner { return poolOwner{vault: "v", actor: "agent-id:" + string(rune('a'+i))} }
	first := o.transport(owner(0))
	if first.MaxIdleConns != ownerMaxIdle || first.MaxIdleConnsPerHost != ownerMaxIdlePerHost {
		t.Fatalf("an owner's transport keeps %d idle connections (%d per host)", first.MaxIdleConns, first.MaxIdleConnsPerHost)
	}
	o.transport(owner(1))
	o.transport(owner(2))
	o.transport(owner(0)) // owner 1 is now the one unused longest
	o.transport(owner(3))
	if n := o.owners(); n != 3 {
		t.Fatalf("%d owners kept, want 3", n)
	}
	if o.transport(owner(0)) != first {
		t.Fatal("a recently used owner lost its transport")
	}
	o.mu.Lock()
	_, kept1 := o.byOwner[owner(1)]
	o.mu.Unlock()
	if kept1 {
		t.Fatal("the owner unused longest kept its transport")
	}
}

// TestOwnerTransportsWithoutIdleTimeout: a base with no idle timeout (0:
// none) never has its owners swept.
func TestOwnerTransportsWithoutIdleTimeout(t *testing.T) {
	clock := time.Unix(1_000_000, 0)
	o := newOwnerTransports(&http.Transport{})
	o.now = func() time.Time { return clock }
	a := o.transport(poolOwner{vault: "v", actor: "a"})
	clock = clock.Add(time.Hour)
	o.transport(poolOwner{vault: "v", actor: "b"})
	if o.transport(poolOwner{vault: "v", actor: "a"}) != a {
		t.Fatal("an owner lost its transport although nothing times out")
	}
}

// TestOwnerTransportsAfterClose: once closed, nothing is kept: a request
// still arriving gets a transport that keeps no connection open.
func TestOwnerTransportsAfterClose(t *testing.T) {
	o := newOwnerTransports(&http.Transport{IdleConnTimeout: 90 * time.Second})
	o.transport(poolOwner{vault: "v", actor: "a"})
	o.close()
	if n := o.owners(); n != 0 {
		t.Fatalf("%d owners kept after close", n)
	}
	late := o.transport(poolOwner{vault: "v", actor: "a"})
	if !late.DisableKeepAlives || o.owners() != 0 {
		t.Fatal("a transport made after close keeps connections")
	}
}
