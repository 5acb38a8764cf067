// Package archtest holds no code: its tests enforce the one-way package
// dependency direction drawn in docs/architecture.md, and that comments
// explain the code from the repository itself (docs/*.md), never from a
// document, report or issue tracker outside it.
package archtest
