package hf

import "testing"

func TestTorchRelease(t *testing.T) {
	for in, want := range map[string]string{
		"2.10.0":            "2.10.0",
		"2.10.0+cu128":      "2.10.0",
		"2.10.0+cpu":        "2.10.0",
		"2.11.0a0+git1a2b3": "2.11.0",
		"2.10.0rc1":         "2.10.0",
		"2.10.0.dev2025":    "2.10.0",
		"2.10":              "",
		"unknown":           "",
		"":                  "",
		"2.x.0":             "",
	} {
		got, ok := torchRelease(in)
		if got != want || ok != (want != "") {
			t.Errorf("torchRelease(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
