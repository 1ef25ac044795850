package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// modelInfoFile is the file a model folder built by this project's tools
// carries to say what the model is (third_party/tools/train_demo_classifier.py
// writes it next to the demo model): --explain prints it.
const modelInfoFile = "hfpipe-model-info.json"

// modelInfo is the part of hfpipe-model-info.json the CLI shows.
type modelInfo struct {
	Description  string `json:"description"`
	TrainingData struct {
		Source  string `json:"source"`
		Corpora map[string]struct {
			About    string `json:"about"`
			Negative int    `json:"negative"`
			Positive int    `json:"positive"`
		} `json:"corpora"`
		MinAbsRating float64 `json:"min_abs_rating"`
		Sentences    int     `json:"sentences"`
	} `json:"training_data"`
	Dev struct {
		Correct int `json:"correct"`
		Total   int `json:"total"`
	} `json:"dev"`
	Heldout struct {
		File     string `json:"file"`
		Total    int    `json:"total"`
		Positive int    `json:"positive"`
		Negative int    `json:"negative"`
		Correct  int    `json:"correct"`
	} `json:"heldout"`
}

// readModelInfo reads dir's hfpipe-model-info.json; a folder without one
// gives nil and no error.
func readModelInfo(dir string) (*modelInfo, error) {
	path := filepath.Join(dir, modelInfoFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var info modelInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%s: %v (rebuild the model, e.g. `make demo-model`, or remove the file)", path, err)
	}
	h := info.Heldout
	if info.Description == "" || h.Total <= 0 || h.Correct < 0 || h.Correct > h.Total {
		return nil, fmt.Errorf("%s: want a description and held-out counts with 0 <= correct <= total (got %d/%d); rebuild the model, e.g. `make demo-model`, or remove the file", path, h.Correct, h.Total)
	}
	return &info, nil
}

// describeModel prints what the model folder says it is: where its weights
// come from, what it was trained on and its held-out accuracy.
func describeModel(w io.Writer, info *modelInfo) {
	fmt.Fprintf(w, "about: %s\n", info.Description)
	d := info.TrainingData
	if d.Sentences > 0 {
		names := make([]string, 0, len(d.Corpora))
		for k := range d.Corpora {
			names = append(names, k)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, k := range names {
			c := d.Corpora[k]
			parts[i] = fmt.Sprintf("%d %s (%d+/%d-)", c.Positive+c.Negative, c.About, c.Positive, c.Negative)
		}
		fmt.Fprintf(w, "trained on: %d English sentences labelled by their human rating (|mean| >= %g on -4..+4): %s; from %s\n",
			d.Sentences, d.MinAbsRating, strings.Join(parts, ", "), d.Source)
	}
	h := info.Heldout
	fmt.Fprintf(w, "held-out accuracy: %d/%d = %.1f%% (%d positive, %d negative sentences written for this model, none in the training data: %s)",
		h.Correct, h.Total, 100*float64(h.Correct)/float64(h.Total), h.Positive, h.Negative, h.File)
	if info.Dev.Total > 0 {
		fmt.Fprintf(w, "; %d/%d = %.1f%% on the corpus sentences kept out of training", info.Dev.Correct, info.Dev.Total,
			100*float64(info.Dev.Correct)/float64(info.Dev.Total))
	}
	fmt.Fprintln(w)
}
