//go:build !unix

package sandbox

// CloseInheritedOnExec does nothing off Unix: Go hands a child there only
// the handles it is given.
func CloseInheritedOnExec() error { return nil }
