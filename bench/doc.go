// Package bench holds what hfpipe's benchmarks share: the timing scheme
// (warm-up calls, then repetitions of timed calls), summary statistics,
// deterministic benchmark texts of an exact token length, the mixed-length
// corpus, the random-initialised benchmark model, and process facts (peak
// RSS, CPU model).
//
// The numbers themselves come from bench/cmd/hfbench (`make bench`), which
// runs the Go side in child processes of its own, once with the native
// model (the default loader) and once with its TorchScript export, the
// Python side through third_party/tools/bench_python.py and the peer,
// hugot with ONNX Runtime, through bench/peer/hugot (a Go module of its
// own, built by `make bench-peer`), and writes bench/results.md and
// bench/throughput.png. The testing.B benchmarks of
// this package measure the Go side alone, with both loaders:
//
//	go test -run '^$' -bench . -benchtime 20x ./bench
package bench
