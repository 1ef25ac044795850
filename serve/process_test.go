package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// hfpipeBinary builds cmd/hfpipe once per test run.
func hfpipeBinary(t testing.TB) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hfpipe-serve-test")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "hfpipe")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/hfpipe")
		cmd.Dir = testenv.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/hfpipe: %v\n%s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// process is `hfpipe serve` running on a loopback port.
type process struct {
	cmd    *exec.Cmd
	url    string
	mu     sync.Mutex
	stderr bytes.Buffer
	exited chan error
}

var readyRE = regexp.MustCompile(`msg=ready addr=(http://\S+)`)

// startProcess runs hfpipe serve on the model with the extra flags and
// waits until it is ready.
func startProcess(t testing.TB, model string, flags ...string) *process {
	args := append([]string{"serve", "--model", model, "--hostname", "127.0.0.1", "--port", "0", "--threads", strconv.Itoa(testThreads)}, flags...)
	p := &process{cmd: exec.Command(hfpipeBinary(t), args...), exited: make(chan error, 1)}
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	require.NoError(t, p.cmd.Start())
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if m := readyRE.FindStringSubmatch(line); m != nil {
				ready <- m[1]
			}
		}
	}()
	go func() { p.exited <- p.cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	select {
	case p.url = <-ready:
	case err := <-p.exited:
		t.Fatalf("hfpipe serve exited before ready: %v\n%s", err, p.log())
	case <-time.After(2 * time.Minute):
		t.Fatalf("hfpipe serve not ready after 2 minutes\n%s", p.log())
	}
	return p
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// rss is the process's resident memory in bytes (Linux).
func (p *process) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// metric reads one sample of the server's /metrics.
func metric(t testing.TB, url, name string) float64 {
	_, body := getBody(t, url+"/metrics")
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, name+" ") {
			v, err := strconv.ParseFloat(strings.TrimPrefix(l, name+" "), 64)
			require.NoError(t, err)
			return v
		}
	}
	return 0
}

// loadTexts are the inputs the load clients send, with the label and
// score the pipeline gives each: every answer is checked against its own
// text's, so an answer routed to the wrong request shows.
type loadTexts struct {
	texts  []string
	bodies [][]byte
	want   [][]pipeline.Result
}

func newLoadTexts(t testing.TB, model string) *loadTexts {
	words := strings.Fields("the service was slow but the food was great and I would come back again tomorrow with friends who love pasta pizza wine and long evenings")
	lt := &loadTexts{}
	for i := 0; i < 64; i++ {
		n := 3 + (i*7)%40 // 3..42 words: lengths vary, as in real traffic
		var w []string
		for k := 0; k < n; k++ {
			w = append(w, words[(i*5+k*3)%len(words)])
		}
		text := fmt.Sprintf("review %d: %s", i, strings.Join(w, " "))
		lt.texts = append(lt.texts, text)
		b, _ := json.Marshal(map[string]string{"inputs": text})
		lt.bodies = append(lt.bodies, b)
	}
	clf, err := pipeline.NewTextClassification(context.Background(), pipeline.WithModel(model), pipeline.WithTopK(pipeline.AllLabels))
	require.NoError(t, err)
	defer clf.Close()
	lt.want, err = clf.Run(context.Background(), lt.texts...)
	require.NoError(t, err)
	return lt
}

// check reports whether an answer is the one for text i: the same labels
// in the same order and scores within 1e-5 (a row's score changes in the
// last bits with the padding of the batch it ran in; distinct texts
// differ by far more).
func (lt *loadTexts) check(i int, body []byte) bool {
	var got []Prediction
	if json.Unmarshal(body, &got) != nil || len(got) != len(lt.want[i]) {
		return false
	}
	for k, w := range lt.want[i] {
		if got[k].Label != w.Label || abs(float64(got[k].Score)-w.Score) > 1e-5 {
			return false
		}
	}
	return true
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// loadStats are what a load run saw from the clients' side.
type loadStats struct {
	sent, ok, wrong, status429, otherStatus, errors int
	latencies                                       []time.Duration
	elapsed                                         time.Duration
	rssMax, rssFirstHalf, rssSecondHalf             int64
	maxQueue, maxInFlight                           float64 // sampled from /metrics
}

func (s *loadStats) pct(p float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	sort.Slice(s.latencies, func(a, b int) bool { return s.latencies[a] < s.latencies[b] })
	return s.latencies[min(len(s.latencies)-1, int(p*float64(len(s.latencies))))]
}

func (s *loadStats) throughput() float64 { return float64(s.ok) / s.elapsed.Seconds() }

func (s *loadStats) String() string {
	return fmt.Sprintf("sent=%d ok=%d wrong=%d 429=%d other_status=%d errors=%d p50=%s p99=%s throughput=%.1f/s rss_max=%dMiB max_queue=%.0f max_in_flight=%.0f",
		s.sent, s.ok, s.wrong, s.status429, s.otherStatus, s.errors, s.pct(0.5).Round(time.Millisecond), s.pct(0.99).Round(time.Millisecond),
		s.throughput(), s.rssMax>>20, s.maxQueue, s.maxInFlight)
}

// drive runs n clients against url+"/predict" for d, each sending one
// request after another, and samples the server's RSS.
func drive(p *process, lt *loadTexts, n int, d time.Duration) *loadStats {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	st := &loadStats{}
	var mu sync.Mutex
	start := time.Now()
	deadline := start.Add(d)
	stopRSS := make(chan struct{})
	rssDone := make(chan struct{})
	go func() {
		defer close(rssDone)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopRSS:
				return
			case <-tick.C:
				r := p.rss()
				q, inf := sampleMetrics(p.url)
				mu.Lock()
				st.maxQueue = max(st.maxQueue, q)
				st.maxInFlight = max(st.maxInFlight, inf)
				st.rssMax = max(st.rssMax, r)
				if time.Since(start) < d/2 {
					st.rssFirstHalf = max(st.rssFirstHalf, r)
				} else {
					st.rssSecondHalf = max(st.rssSecondHalf, r)
				}
				mu.Unlock()
			}
		}
	}()
	var wg sync.WaitGroup
	for c := 0; c < n; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			var lat []time.Duration
			var sent, ok, wrong, s429, other, errs int
			for k := 0; time.Now().Before(deadline); k++ {
				i := (c*31 + k) % len(lt.texts)
				t0 := time.Now()
				sent++
				resp, err := client.Post(p.url+"/predict", "application/json", bytes.NewReader(lt.bodies[i]))
				if err != nil {
					errs++
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					errs++
				case resp.StatusCode == 200:
					lat = append(lat, time.Since(t0))
					if lt.check(i, body) {
						ok++
					} else {
						wrong++
					}
				case resp.StatusCode == 429:
					s429++
					time.Sleep(5 * time.Millisecond) // a client backs off a little
				default:
					other++
				}
			}
			mu.Lock()
			st.sent += sent
			st.ok += ok
			st.wrong += wrong
			st.status429 += s429
			st.otherStatus += other
			st.errors += errs
			st.latencies = append(st.latencies, lat...)
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	close(stopRSS)
	<-rssDone
	return st
}

// sampleMetrics reads te_queue_size and hfpipe_inputs_in_flight (zeros if
// the server does not answer within a second).
func sampleMetrics(url string) (queue, inFlight float64) {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(url + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "te_queue_size "); ok {
			queue, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(l, "hfpipe_inputs_in_flight "); ok {
			inFlight, _ = strconv.ParseFloat(v, 64)
		}
	}
	return queue, inFlight
}

// stop sends SIGTERM and waits for a clean exit; it returns the number of
// requests the server says it answered.
func (p *process) stop(t testing.TB) int {
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.exited:
		require.NoError(t, err, "hfpipe serve exit\n%s", tail(p.log(), 20))
	case <-time.After(2 * time.Minute):
		t.Fatalf("hfpipe serve did not exit after SIGTERM\n%s", tail(p.log(), 20))
	}
	m := regexp.MustCompile(`msg="shut down cleanly" answered=(\d+)`).FindStringSubmatch(p.log())
	require.NotNil(t, m, "no clean shutdown in the log:\n%s", tail(p.log(), 20))
	n, _ := strconv.Atoi(m[1])
	return n
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}
