// Package archtest holds no code: its test enforces the one-way package
// dependency direction drawn in docs/architecture.md.
package archtest
