// Package qualpayfake is a stateful, in-memory Qualpay Platform API for tests
// and the local runner. Every request and every response it produces is
// validated against Qualpay's OpenAPI document (kin-openapi openapi3filter +
// router); a violation is reported to an error sink (a *testing.T fails the
// test) and answered the way Qualpay answers invalid input.
//
// It implements the Customer Vault with Qualpay's rules (customer_id of at
// most 32 letters and digits and immutable, the first card and address become
// primary, PUT replaces array fields, a card used by a live subscription
// cannot be deleted, deleting a customer deletes its subscriptions), the
// merchant settings call, Recurring Billing (plans, subscriptions with pause,
// resume, cancel and transactions) and the Account Updater reports
// (recurring.go), and the reporting calls
// (deposits, batches, statement settlement and fees, settled transactions)
// from seeded rows with filters and paging. Tests can inject faults (5xx,
// 429, slow responses) and mint card tokens the way Embedded Fields does.
//
// Deviations from the published document are listed in Spec.Errata and
// explained where they are applied (spec.go).
package qualpayfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// ErrorSink receives contract violations. *testing.T satisfies it; the
// local runner passes a logger adapter.
type ErrorSink interface {
	Errorf(format string, args ...any)
}

// TB is what Start needs from a test.
type TB interface {
	ErrorSink
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Config configures a Fake.
type Config struct {
	// SpecPath is the OpenAPI document (see SpecPath).
	SpecPath string
	// SecurityKey is the only key accepted (HTTP basic user, empty password).
	SecurityKey string
	// Now stamps seeded data; default time.Now.
	Now func() time.Time
}

// Fake is the fake Qualpay. Its zero value is not usable; use New or Start.
type Fake struct {
	spec *Spec
	sink ErrorSink
	key  string
	now  func() time.Time

	mu         sync.Mutex
	merchants  map[int64]*merchant
	tokens     map[string]card // card_id minted by Tokenize, not yet in a vault
	subs       map[int64]*subscription
	plans      map[int64]map[string]*plan // merchant -> plan_code -> plan (recurring.go)
	subTrans   map[int64][]row            // subscription -> its transactions (recurring.go)
	reports    map[string][]row           // route -> seeded rows
	faults     []*Fault
	requests   []Request
	violations []string
	seq        int64
}

// Request is one request the fake served, for assertions. Bodies are never
// kept (they may hold card data in a broken client).
type Request struct {
	Method    string
	Path      string
	Query     url.Values
	Operation string // operationId from the spec, "" when unrouted
	Status    int
	Fault     bool // answered by an injected fault
}

// New builds a Fake. Violations go to sink.
func New(sink ErrorSink, cfg Config) (*Fake, error) {
	if cfg.SecurityKey == "" {
		return nil, errors.New("qualpayfake: Config.SecurityKey is required")
	}
	spec, err := LoadSpec(cfg.SpecPath)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Fake{
		spec: spec, sink: sink, key: cfg.SecurityKey, now: cfg.Now,
		merchants: map[int64]*merchant{}, tokens: map[string]card{}, subs: map[int64]*subscription{},
		reports: map[string][]row{},
	}, nil
}

// Server is a Fake listening on a local URL.
type Server struct {
	*Fake
	URL string
	srv *httptest.Server
}

// Close stops the listener.
func (s *Server) Close() { s.srv.Close() }

// DefaultKey is the security key Start configures when none is given.
const DefaultKey = "qpFakeSecurityKey0123456789abcdef"

// Start runs a Fake on an httptest server for the test's lifetime, with the
// spec from Config.SpecPath or found with SpecPath(working directory).
func Start(t TB, cfg ...Config) *Server {
	t.Helper()
	var c Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	if c.SecurityKey == "" {
		c.SecurityKey = DefaultKey
	}
	if c.SpecPath == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatalf("qualpayfake: %v", err)
		}
		if c.SpecPath, err = SpecPath(wd); err != nil {
			t.Fatalf("qualpayfake: %v", err)
		}
	}
	f, err := New(t, c)
	if err != nil {
		t.Fatalf("qualpayfake: %v", err)
	}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	return &Server{Fake: f, URL: hs.URL, srv: hs}
}

// Key is the accepted security key.
func (f *Fake) Key() string { return f.key }

// Violations returns the contract violations seen so far.
func (f *Fake) Violations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.violations...)
}

// Requests returns the requests served so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Calls counts requests routed to an operation (spec operationId).
func (f *Fake) Calls(operationID string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Operation == operationID {
			n++
		}
	}
	return n
}

// ResetRequests clears the request log.
func (f *Fake) ResetRequests() {
	f.mu.Lock()
	f.requests = nil
	f.mu.Unlock()
}

func (f *Fake) violation(format string, args ...any) {
	msg := fmt.Sprintf("qualpay contract violation: "+format, args...)
	f.mu.Lock()
	f.violations = append(f.violations, msg)
	f.mu.Unlock()
	f.sink.Errorf("%s", msg)
}

// Fault is an injected failure. It matches requests by method and path
// prefix (empty matches all) and applies to the next Times of them (0: until
// ClearFaults).
type Fault struct {
	Method     string
	PathPrefix string        // e.g. "/platform/reporting/deposits"
	Status     int           // 0: no error, only Delay
	RetryAfter string        // Retry-After header value
	Delay      time.Duration // before answering (a slow Qualpay)
	After      int           // let this many matching requests through first
	Times      int
	Message    string
	// Lose applies the request to the state before answering with Status,
	// like a gateway timing out after Qualpay did the work.
	Lose bool

	seen, used int
}

// InjectFault adds a fault; faults are checked in the order added.
func (f *Fake) InjectFault(ft Fault) {
	f.mu.Lock()
	f.faults = append(f.faults, &ft)
	f.mu.Unlock()
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	f.faults = nil
	f.mu.Unlock()
}

func (f *Fake) takeFault(r *http.Request) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ft := range f.faults {
		if ft.Method != "" && ft.Method != r.Method {
			continue
		}
		if !strings.HasPrefix(r.URL.Path, ft.PathPrefix) {
			continue
		}
		if ft.seen++; ft.seen <= ft.After {
			continue
		}
		if ft.Times > 0 && ft.used >= ft.Times {
			continue
		}
		ft.used++
		cp := *ft
		return &cp
	}
	return nil
}

const maxBody = 1 << 20

// ServeHTTP validates the request, applies faults, runs the operation and
// validates its response.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		f.writeRaw(w, r, "", http.StatusRequestEntityTooLarge, qpError(2, "request too large"))
		return
	}
	// Route on the path alone: the document's servers are relative
	// ("/platform"), so the host must not take part in matching.
	vr := r.Clone(r.Context())
	vr.URL = &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	vr.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := f.spec.Router.FindRoute(vr)
	if err != nil {
		f.violation("%s %s: no such operation in the spec (%v)", r.Method, r.URL.Path, err)
		f.writeRaw(w, r, "", http.StatusNotFound, qpError(404, "Not found"))
		return
	}
	opID := route.Operation.OperationID

	user, pass, ok := r.BasicAuth()
	if !ok {
		f.violation("%s %s: no HTTP basic credentials (spec security: basicAuth)", r.Method, r.URL.Path)
		f.writeRaw(w, r, opID, http.StatusUnauthorized, qpError(401, "Unauthorized"))
		return
	}
	if user != f.key || pass != "" {
		f.writeRaw(w, r, opID, http.StatusUnauthorized, qpError(401, "Unauthorized"))
		return
	}

	in := &openapi3filter.RequestValidationInput{
		Request: vr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		f.violation("%s %s (%s) request: %v", r.Method, r.URL.Path, opID, oneLine(err))
		f.writeRaw(w, r, opID, http.StatusBadRequest, qpError(2, "Request Validation Failed"))
		return
	}

	ft := f.takeFault(r)
	if ft != nil {
		if ft.Delay > 0 {
			t := time.NewTimer(ft.Delay)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if ft.Status != 0 && !ft.Lose {
			f.writeFault(w, r, opID, ft)
			return
		}
	}

	h, implemented := handlers[opID]
	if !implemented {
		// Valid per the spec, but outside what the fake models: say so loudly.
		f.sink.Errorf("qualpayfake: operation %s (%s %s) is not implemented by the fake", opID, r.Method, r.URL.Path)
		f.writeRaw(w, r, opID, http.StatusInternalServerError, qpError(99, "Internal Error"))
		return
	}
	f.mu.Lock()
	status, resp := h(f, params, r.URL.Query(), body)
	f.mu.Unlock()
	out, err := json.Marshal(resp)
	if err != nil {
		f.violation("%s %s: fake could not encode its response: %v", r.Method, r.URL.Path, err)
		status, out = http.StatusInternalServerError, []byte(`{"code":99,"message":"Internal Error"}`)
	}
	hdr := http.Header{"Content-Type": {"application/json"}}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: hdr, Body: io.NopCloser(bytes.NewReader(out)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.WithoutCancel(r.Context()), rin); err != nil {
		f.violation("%s %s (%s) response %d: %v", r.Method, r.URL.Path, opID, status, oneLine(err))
	}
	if ft != nil && ft.Lose && ft.Status != 0 {
		f.writeFault(w, r, opID, ft) // the work is done; the answer is lost
		return
	}
	f.record(r, opID, status, false)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func (f *Fake) writeFault(w http.ResponseWriter, r *http.Request, opID string, ft *Fault) {
	if ft.RetryAfter != "" {
		w.Header().Set("Retry-After", ft.RetryAfter)
	}
	msg := ft.Message
	if msg == "" {
		msg = http.StatusText(ft.Status)
	}
	f.record(r, opID, ft.Status, true)
	writeJSON(w, ft.Status, qpError(99, msg))
}

// writeRaw answers outside the operation's contract (unrouted, unauthorised,
// invalid request): Qualpay's envelope, not validated as a response.
func (f *Fake) writeRaw(w http.ResponseWriter, r *http.Request, opID string, status int, v any) {
	f.record(r, opID, status, false)
	writeJSON(w, status, v)
}

func (f *Fake) record(r *http.Request, opID string, status int, fault bool) {
	f.mu.Lock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		Operation: opID, Status: status, Fault: fault})
	f.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiResponse is Qualpay's envelope (QPApiResponse and friends).
type apiResponse struct {
	Code         int    `json:"code"`
	Message      string `json:"message"`
	Data         any    `json:"data,omitempty"`
	TotalPages   *int   `json:"totalPages,omitempty"`
	TotalRecords *int   `json:"totalRecords,omitempty"`
}

func qpError(code int, msg string) apiResponse { return apiResponse{Code: code, Message: msg} }

func success(data any) (int, any) {
	return http.StatusOK, apiResponse{Code: 0, Message: "Success", Data: data}
}

// Qualpay answers invalid input with HTTP 400 and a message. The fake uses
// code 2 for these; the client never depends on the number.
func bad(format string, args ...any) (int, any) {
	return http.StatusBadRequest, qpError(2, fmt.Sprintf(format, args...))
}

func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// A handler runs an operation on the state (f.mu held) and returns the status
// and response value; it must only produce what the spec declares.
type handler func(f *Fake, params map[string]string, q url.Values, body []byte) (int, any)

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"addCustomer":                   (*Fake).addCustomer,
		"getCustomer":                   (*Fake).getCustomer,
		"browseCustomers":               (*Fake).browseCustomers,
		"updateCustomer":                (*Fake).updateCustomer,
		"deleteCustomer":                (*Fake).deleteCustomer,
		"getBillingCards":               (*Fake).getBillingCards,
		"addBillingCard":                (*Fake).addBillingCard,
		"updateBillingCard":             (*Fake).updateBillingCard,
		"deleteBillingCard":             (*Fake).deleteBillingCard,
		"setPrimaryBillingCard":         (*Fake).setPrimaryBillingCard,
		"getShippingAddresses":          (*Fake).getShippingAddresses,
		"addShippingAddress":            (*Fake).addShippingAddress,
		"updateShippingAddress":         (*Fake).updateShippingAddress,
		"deleteShippingAddress":         (*Fake).deleteShippingAddress,
		"setPrimaryShippingAddress":     (*Fake).setPrimaryShippingAddress,
		"getMerchantSettings":           (*Fake).getMerchantSettings,
		"browseSubscriptions":           (*Fake).browseSubscriptions,
		"browseDeposits":                reportHandler("/reporting/deposits"),
		"browseBatches":                 reportHandler("/reporting/batches"),
		"browseTrans":                   reportHandler("/reporting/transactions"),
		"browseStatementSettlementData": reportHandler("/reporting/statement-report/settlement"),
		"browseStatementFeeData":        reportHandler("/reporting/statement-report/fees"),
	}
}
