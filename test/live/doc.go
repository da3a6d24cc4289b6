// Package live holds the tests that run against a real Azure subscription,
// built only with -tags live (see live_test.go); CI never builds them.
package live
