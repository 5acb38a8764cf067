package daemon

import "sync"

// owner holds what a start has opened — files, databases, listeners,
// servers — and undoes it, newest first, when Run returns: a start that
// fails half-way releases everything it took (no listener stays bound, no
// lock stays held), and a normal stop closes in the reverse order of
// opening. Each undo runs once.
type owner struct {
	mu   sync.Mutex
	undo []func()
}

// onClose registers f to run when the owner closes.
func (o *owner) onClose(f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.undo = append(o.undo, sync.OnceFunc(f))
}

// close runs every registered undo, newest first.
func (o *owner) close() {
	o.mu.Lock()
	undo := o.undo
	o.undo = nil
	o.mu.Unlock()
	for i := len(undo) - 1; i >= 0; i-- {
		undo[i]()
	}
}
