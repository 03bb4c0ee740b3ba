package pagerduty

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/notify/notifytest"
)

const routingKey = "R0UT1NGKEY0123456789abcdef012345"

// receiver checks events against the Events API v2's rules.
func receiver(t *testing.T, events *[]Event, paths *[]string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Errorf("not JSON: %s", b)
		}
		if ev.RoutingKey != routingKey {
			t.Errorf("routing_key %q", ev.RoutingKey)
		}
		switch r.URL.Path {
		case "/v2/enqueue":
			if !slices.Contains([]string{"trigger", "acknowledge", "resolve"}, ev.EventAction) || ev.DedupKey == "" {
				t.Errorf("event_action %q dedup_key %q", ev.EventAction, ev.DedupKey)
			}
			if ev.EventAction == "trigger" {
				p := ev.Payload
				if p == nil || p.Summary == "" || utf8.RuneCountInString(p.Summary) > MaxSummary || !utf8.ValidString(p.Summary) || p.Source == "" || !slices.Contains([]string{"critical", "error", "warning", "info"}, p.Severity) {
					t.Errorf("trigger payload %+v", p)
				}
			}
		case "/v2/change/enqueue":
			if ev.Payload == nil || ev.Payload.Summary == "" || ev.Payload.Source == "" {
				t.Errorf("change payload %+v", ev.Payload)
			}
		default:
			t.Errorf("path %s", r.URL.Path)
		}
		*events = append(*events, ev)
		*paths = append(*paths, r.URL.Path)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"`+ev.DedupKey+`"}`)
	}))
}

func TestTriggerResolveAndChange(t *testing.T) {
	var events []Event
	var paths []string
	srv := receiver(t, &events, &paths)
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "pd-key")
	_ = os.WriteFile(file, []byte(routingKey), 0o600)
	p, err := New(Config{RoutingKeyFile: file, EventsURL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	long := strings.Repeat("x", 2000)
	for _, n := range []notify.Notice{
		{Key: "incident/ctrp-prod/invalid_client", Kind: "incident", Credential: "ctrp-prod", Environment: "prod", Class: "invalid_client", Page: true, Summary: long},
		{Key: "resolve/incident/ctrp-prod/invalid_client", Kind: "resolve", Credential: "ctrp-prod", Resolves: "incident/ctrp-prod/invalid_client"},
		{Key: "rotated/ctrp-prod/2", Kind: notify.KindRotated, Credential: "ctrp-prod"},
	} {
		if _, err := p.Notify(ctx, n); err != nil {
			t.Fatalf("%s: %v", n.Kind, err)
		}
	}
	if len(events) != 3 || events[0].Payload.Severity != "critical" || events[1].EventAction != "resolve" || events[1].DedupKey != events[0].DedupKey || paths[2] != "/v2/change/enqueue" {
		t.Errorf("events: %+v %v", events, paths)
	}
	for _, ev := range events {
		if ev.Payload != nil {
			notifytest.AssertNoSecret(t, "custom_details", stringValues(ev.Payload.CustomDetails), routingKey)
		}
	}
}

// The Events API counts a summary's characters: a long one is cut at a
// character boundary, never inside a UTF-8 sequence.
func TestALongSummaryIsCutBetweenCharacters(t *testing.T) {
	for _, summary := range []string{strings.Repeat("é", 2000), strings.Repeat("x", 1000) + strings.Repeat("日本", 100)} {
		_, ev := Build(notify.Notice{Key: "k", Kind: notify.KindTest, Credential: "(test)", Summary: summary}, "credkeeper")
		got := ev.Payload.Summary
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > MaxSummary || !strings.HasSuffix(got, "…") {
			t.Errorf("summary of %d bytes cut to %d characters, valid UTF-8 %v", len(summary), utf8.RuneCountInString(got), utf8.ValidString(got))
		}
	}
}

func stringValues(m map[string]any) []string {
	var out []string
	for _, v := range m {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func TestErrorsAreRetriedByStatusAndHideTheKey(t *testing.T) {
	status := 429
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"status":"invalid event","errors":["routing key `+routingKey+` unknown"]}`)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "pd-key")
	_ = os.WriteFile(file, []byte(routingKey), 0o600)
	p, _ := New(Config{RoutingKeyFile: file, EventsURL: srv.URL}, nil)
	n := notify.Notice{Key: "k", Kind: "incident", Credential: "c", Summary: "s"}
	if retry, err := p.Notify(context.Background(), n); !retry || err == nil {
		t.Errorf("429: retry %v err %v", retry, err)
	}
	status = 400
	if retry, err := p.Notify(context.Background(), n); retry || err == nil {
		t.Errorf("400: retry %v err %v", retry, err)
	}
	notifytest.AssertNotifyLeaksNoSecret(t, context.Background(), p, n, routingKey)
	srv.Close()
	notifytest.AssertNotifyLeaksNoSecret(t, context.Background(), p, n, routingKey)
}
