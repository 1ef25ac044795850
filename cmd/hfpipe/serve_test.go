package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The serve subcommand's flag errors say what to give instead; the server
// itself is tested in package serve (TestLoad and TestSIGTERMUnderLoad run
// this binary).
func TestServeFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--task", "nope", "--model", "x"}, "want auto, text-classification or feature-extraction"},
		{[]string{"serve", "--log-format", "xml"}, "--log-format \"xml\": want text or json"},
		{[]string{"serve", "--log-level", "loud"}, "--log-level \"loud\""},
		{[]string{"serve", "some text"}, "texts come in HTTP requests"},
		{[]string{"serve", "--device", "tpu"}, "tpu"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), c.args, nil, &bytes.Buffer{}, &stderr)
		require.Error(t, err, "%v", c.args)
		assert.Contains(t, err.Error(), c.want, "%v", c.args)
	}
	var stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"serve", "-h"}, nil, &bytes.Buffer{}, &stderr))
	assert.Contains(t, stderr.String(), "usage: hfpipe serve --model M")
	assert.Contains(t, stderr.String(), "-max-batch-tokens")
}
