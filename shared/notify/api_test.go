package notify_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/notify"
	"github.com/payrecon/payrecon/shared/outbox"
)

// showOnce posts without testenv.Do's secret scan: create and roll answer the
// signing secret, once, by design. Everything else goes through testenv.Do.
func showOnce(t *testing.T, url, key string, body any) (int, notify.Created, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var c notify.Created
	_ = json.Unmarshal(raw, &c)
	return res.StatusCode, c, string(raw)
}

func TestEndpointsAPI(t *testing.T) {
	w := newWorld(t)
	srv := w.env.Server("notifications")
	base := srv.URL + "/v1/webhook-endpoints"
	_, rcv := newReceiver(t)

	status, created, raw := showOnce(t, base, w.key, map[string]any{"url": rcv.URL, "events": []string{outbox.InvoicePaid, outbox.InvoicePaid, outbox.MatchCreated}, "description": "books"})
	if status != 201 || !strings.HasPrefix(created.Secret, notify.SecretPrefix) || created.Status != notify.Enabled || len(created.Events) != 2 {
		t.Fatalf("create: %d %s", status, raw)
	}
	if len(created.Secret) != len(notify.SecretPrefix)+44 { // base64 of 32 bytes
		t.Fatalf("secret length %d", len(created.Secret))
	}
	get := testenv.Do(t, "GET", base+"/"+created.ID, w.key, nil) // testenv.Do fails on any whsec_ in a response
	if get.Status != 200 || strings.Contains(string(get.Body), "secret") {
		t.Fatalf("get: %d %s", get.Status, get.Body)
	}
	if l := testenv.Do(t, "GET", base, w.key, nil); l.Status != 200 || !strings.Contains(string(l.Body), created.ID) {
		t.Fatalf("list: %d %s", l.Status, l.Body)
	}
	_, otherKey := w.env.Partner("Other")
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		if r := testenv.Do(t, m, base+"/"+created.ID, otherKey, map[string]any{}); r.Status != 404 {
			t.Fatalf("%s by another partner: %d", m, r.Status)
		}
	}
	if r := testenv.Do(t, "GET", base+"/"+created.ID, "", nil); r.Status != 401 {
		t.Fatalf("no key: %d", r.Status)
	}

	bad := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown event type", map[string]any{"url": rcv.URL, "events": []string{"invoice.eaten"}}, "events"},
		{"no events", map[string]any{"url": rcv.URL, "events": []string{}}, "events"},
		{"too many events", map[string]any{"url": rcv.URL, "events": make([]string, len(outbox.Types)+1)}, "events"},
		{"http to a public host", map[string]any{"url": "http://hooks.partner.example/", "events": []string{outbox.InvoicePaid}}, "url"},
		{"private address", map[string]any{"url": "https://192.168.0.10/", "events": []string{outbox.InvoicePaid}}, "url"},
		{"metadata address", map[string]any{"url": "https://169.254.169.254/", "events": []string{outbox.InvoicePaid}}, "url"},
		{"description too long", map[string]any{"url": rcv.URL, "events": []string{outbox.InvoicePaid}, "description": strings.Repeat("d", notify.MaxDescriptionLen+1)}, "description"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.Do(t, "POST", base, w.key, tc.body)
			var e struct {
				Error struct{ Fields map[string]string }
			}
			r.JSON(t, &e)
			if r.Status != 422 || e.Error.Fields[tc.field] == "" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
	if r := testenv.Do(t, "PATCH", base+"/"+created.ID, w.key, map[string]any{"events": []string{"nope"}}); r.Status != 422 {
		t.Fatalf("patch unknown type: %d", r.Status)
	}
	if r := testenv.Do(t, "PATCH", base+"/"+created.ID, w.key, map[string]any{"status": "disabled", "description": "paused"}); r.Status != 200 || !strings.Contains(string(r.Body), `"disabled"`) {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}

	// Roll: a new secret, shown once.
	status, rolled, raw := showOnce(t, base+"/"+created.ID+"/roll-secret", w.key, nil)
	if status != 200 || rolled.Secret == "" || rolled.Secret == created.Secret {
		t.Fatalf("roll: %d %s", status, raw)
	}

	// Events: list, get, deliveries, resend, replay.
	ev := w.emit(outbox.InvoicePaid, "inv_7", map[string]any{"id": "inv_7", "status": "paid"})
	w.emit(outbox.MatchCreated, "mt_7", map[string]any{"id": "mt_7"})
	list := testenv.Do(t, "GET", srv.URL+"/v1/events?type=invoice.paid", w.key, nil)
	var page struct {
		Data []struct{ ID, Type string }
	}
	list.JSON(t, &page)
	if list.Status != 200 || len(page.Data) != 1 || page.Data[0].ID != ev.ID {
		t.Fatalf("events: %d %s", list.Status, list.Body)
	}
	if r := testenv.Do(t, "GET", srv.URL+"/v1/events?type=nope", w.key, nil); r.Status != 422 {
		t.Fatalf("unknown type filter: %d", r.Status)
	}
	one := testenv.Do(t, "GET", srv.URL+"/v1/events/"+ev.ID, w.key, nil)
	want, err := ev.Body()
	if err != nil {
		t.Fatal(err)
	}
	if one.Status != 200 || string(one.Body) != string(want)+"\n" && string(one.Body) != string(want) {
		t.Fatalf("event: %d %s", one.Status, one.Body)
	}
	if r := testenv.Do(t, "GET", srv.URL+"/v1/events/"+ev.ID, otherKey, nil); r.Status != 404 {
		t.Fatalf("another partner's event: %d", r.Status)
	}
	// The endpoint is disabled: resend has no one to send to; enable it first.
	testenv.Do(t, "PATCH", base+"/"+created.ID, w.key, map[string]any{"status": "enabled"})
	if r := testenv.Do(t, "POST", srv.URL+"/v1/events/"+ev.ID+"/resend", w.key, nil); r.Status != 202 || !strings.Contains(string(r.Body), `"queued":1`) {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	rp := testenv.Do(t, "POST", base+"/"+created.ID+"/replay", w.key, map[string]any{"since": ev.Created.Add(-1e9)})
	if rp.Status != 202 || !strings.Contains(string(rp.Body), `"queued":2`) {
		t.Fatalf("replay: %d %s", rp.Status, rp.Body)
	}
	if r := testenv.Do(t, "POST", base+"/"+created.ID+"/replay", w.key, map[string]any{"since": "2020-01-01T00:00:00Z", "until": "2020-02-01T00:00:00Z"}); r.Status != 422 {
		t.Fatalf("replay too long a range: %d", r.Status)
	}
	if r := testenv.Do(t, "POST", base+"/"+created.ID+"/replay", w.key, map[string]any{}); r.Status != 422 || !strings.Contains(string(r.Body), "since is required") {
		t.Fatalf("replay without since: %d %s", r.Status, r.Body)
	}
	if r := testenv.Do(t, "POST", base+"/"+created.ID+"/replay", w.key, map[string]any{"since": "yesterday", "until": "2026-13-01"}); r.Status != 422 || !strings.Contains(string(r.Body), `"since"`) || !strings.Contains(string(r.Body), `"until"`) {
		t.Fatalf("replay with a malformed since: %d %s", r.Status, r.Body)
	}
	w.drain(func() bool {
		d := testenv.Do(t, "GET", srv.URL+"/v1/events/"+ev.ID+"/deliveries", w.key, nil)
		return strings.Count(string(d.Body), `"succeeded"`) == 2 // resend + replay
	})

	if r := testenv.Do(t, "DELETE", base+"/"+created.ID, w.key, nil); r.Status != 204 {
		t.Fatalf("delete: %d", r.Status)
	}
	if r := testenv.Do(t, "GET", base+"/"+created.ID, w.key, nil); r.Status != 404 {
		t.Fatalf("after delete: %d", r.Status)
	}
}

// A partner has at most MaxEndpoints endpoints; deleting one frees a place.
func TestEndpointCap(t *testing.T) {
	w := newWorld(t)
	_, rcv := newReceiver(t)
	srv := w.env.Server("notifications")
	var last string
	for i := 0; i < notify.MaxEndpoints; i++ {
		status, c, raw := showOnce(t, srv.URL+"/v1/webhook-endpoints", w.key, map[string]any{"url": fmt.Sprintf("%s/%d", rcv.URL, i), "events": []string{outbox.InvoicePaid}})
		if status != 201 {
			t.Fatalf("endpoint %d: %d %s", i, status, raw)
		}
		last = c.ID
	}
	if status, _, raw := showOnce(t, srv.URL+"/v1/webhook-endpoints", w.key, map[string]any{"url": rcv.URL, "events": []string{outbox.InvoicePaid}}); status != 422 {
		t.Fatalf("endpoint over the cap: %d %s", status, raw)
	}
	testenv.Do(t, "DELETE", srv.URL+"/v1/webhook-endpoints/"+last, w.key, nil)
	if status, _, raw := showOnce(t, srv.URL+"/v1/webhook-endpoints", w.key, map[string]any{"url": rcv.URL, "events": []string{outbox.InvoicePaid}}); status != 201 {
		t.Fatalf("after a delete: %d %s", status, raw)
	}
}

// The delivery queue's redrive policy moves a message to the DLQ after
// exactly MaxAttempts receives (the receive count is the attempt number).
func TestTemplateRedriveMatchesAttempts(t *testing.T) {
	b := readTemplate(t)
	m := regexp.MustCompile(`(?s)\n  NotifyQueue:.*?maxReceiveCount: (\d+)`).FindSubmatch(b)
	if m == nil || string(m[1]) != fmt.Sprint(notify.MaxAttempts) {
		t.Fatalf("NotifyQueue maxReceiveCount %q, want %d", m, notify.MaxAttempts)
	}
}

// The relay's stream filter uses only the "dynamodb" key, the one DynamoDB
// event source mappings filter on (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html),
// and passes exactly the INSERT of an event item: its NewImage still carries
// the pending index key, which the relay's own MODIFY removes.
func TestTemplateStreamFilter(t *testing.T) {
	b := readTemplate(t)
	sec := regexp.MustCompile(`(?s)\n  NotificationsRelayFunction:.*?\n  [A-Za-z]+:\n`).Find(b)
	ms := regexp.MustCompile(`- Pattern: '([^']*)'`).FindAllSubmatch(sec, -1)
	if len(ms) == 0 {
		t.Fatal("no stream filter on NotificationsRelayFunction")
	}
	var got []string
	for _, m := range ms {
		var pattern map[string]any
		if err := json.Unmarshal(m[1], &pattern); err != nil {
			t.Fatalf("filter pattern is not JSON: %v", err)
		}
		for k := range pattern {
			if k != "dynamodb" {
				t.Fatalf("filter on %q: DynamoDB event source mappings filter on the dynamodb key only", k)
			}
		}
		got = append(got, string(m[1]))
	}
	pending := `"NewImage":{"gsi1pk":{"S":[{"prefix":"` + outbox.PendingPrefix + `"}]}}}}`
	want := []string{
		`{"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"` + outbox.SKPrefix + `"}]}},` + pending,
		`{"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"` + invoices.SK("") + `"}]}},` + pending,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("filters %q, want %q (the local runner's outboxPending mirrors them)", got, want)
	}
}

func readTemplate(t *testing.T) []byte {
	t.Helper()
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
