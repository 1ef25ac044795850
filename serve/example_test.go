package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/serve"
)

// exampleModel stands in for a Hub id (no Hub here): the tests' random
// 2-layer DistilBERT classifier, whose labels are fixed by its seed but
// mean nothing.
var exampleModel string

func TestMain(m *testing.M) {
	dir, err := testenv.BuildModel(testenv.SmallModel)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exampleModel = dir
	os.Exit(m.Run())
}

// A Go program mounts the server's handlers in its own mux, next to its
// own routes.
func ExampleServer_Register() {
	ctx := context.Background()
	clf, err := pipeline.NewTextClassification(ctx, pipeline.WithModel(exampleModel))
	if err != nil {
		log.Fatal(err)
	}
	defer clf.Close()
	srv, err := serve.New(clf, serve.WithMaxClientBatchSize(8))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hi") })
	srv.Register(mux)
	hs := httptest.NewServer(mux) // or srv.HTTPServer(":8080").ListenAndServe()
	defer hs.Close()

	resp, err := http.Post(hs.URL+"/predict", "application/json", strings.NewReader(`{"inputs": "I hate this so much!"}`))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var preds []serve.Prediction
	if err := json.NewDecoder(resp.Body).Decode(&preds); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode)
	for _, p := range preds {
		fmt.Printf("%s %.4f\n", p.Label, p.Score)
	}
	// Output:
	// 200
	// NEGATIVE 0.9508
	// POSITIVE 0.0492
}
