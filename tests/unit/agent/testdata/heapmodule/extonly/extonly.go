// Package extonly has only external tests (package extonly_test).
package extonly

// Double returns twice n.
func Double(n int) int { return 2 * n }
