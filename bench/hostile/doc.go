// Package hostile is the hostile-input battery of issue 11, shared by the
// end-to-end test (server/e2e/hostile_test.go) and the 60-second mix in
// bench/hostile/run: it builds tfserve, runs it as a child process under an
// address-space limit, keeps normal REST and gRPC clients calling predict,
// and fires hostile requests, connection patterns and model files at it.
// Each Case says what a hardened server must answer; the caller checks that
// the process survives and its peak RSS stays bounded.
//
// Every address it talks to is on loopback.
package hostile
