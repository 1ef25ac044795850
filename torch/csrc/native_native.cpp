// Compiles native/native.cpp into package csrc: cgo compiles only the files
// of a package's own folder. One wrapper per native/*.cpp; a test in
// package torch (TestShimWrappers) checks that none is missing.
#include "native/native.cpp"
