// Package local is the root of everything that never ships in a Lambda: provider
// fakes (stripefake, qualpayfake), the local emulator stack (localstack), the test
// harness (testenv), the Stripe OAuth authorize stand-in page (oauthpage), demo seeding (demo), AWS fault injection (faults), the worked
// example (example) and the reconciliation simulator (reconsim).
//
// TestNoFunctionLinksLocal (in this package) fails when any functions/* main's
// import graph reaches a package under shared/local/.
package local
