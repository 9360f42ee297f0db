package connect_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/oauthpage"
	"github.com/payrecon/payrecon/shared/local/stripefake"
	"github.com/payrecon/payrecon/shared/local/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	sk    = "sk_test_51ConnectTestKey0001"
	caID  = "ca_ConnectTestClient01"
	whsec = "whsec_connecttest0001"
	qpKey = "3888ab7bba98452987cdf69ae917561a"
)

// clock is an injectable, adjustable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// world is one test's stack: env, Stripe fake (OAuth + proxy to stripe-mock), the
// local stand-in authorize page, and every function served like cmd/local does.
type world struct {
	t       *testing.T
	env     *testenv.Env
	fake    *stripefake.Fake
	standIn *httptest.Server
	srv     *httptest.Server
	clock   *clock
}

type worldOpt func(*app.Config)

func newWorld(t *testing.T, opts ...worldOpt) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the local stack")
	}
	st, err := localstack.Start(os.Getenv)
	if err != nil {
		t.Fatalf("local stack: %v", err)
	}
	fake, err := stripefake.New(stripefake.Options{APIUpstream: st.StripeURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	standIn := httptest.NewServer(oauthpage.Handler(fake))
	t.Cleanup(standIn.Close)
	cfgOpts := []func(*app.Config){func(c *app.Config) {
		c.StripeConnectURL, c.StripeAPIURL = fake.URL, fake.URL
		c.StripeAuthorize = standIn.URL + "/oauth/authorize"
		// redirect_uri derived from the request host: the test server's own URL.
		c.PublicBaseURL = ""
	}}
	for _, o := range opts {
		cfgOpts = append(cfgOpts, o)
	}
	env := testenv.New(t, cfgOpts...)
	clk := &clock{t: time.Now().UTC()}
	env.Now = clk.Now // before Server(): handlers capture the clock when built
	w := &world{t: t, env: env, fake: fake, standIn: standIn, clock: clk}
	w.srv = env.Server()
	return w
}

// partner creates a partner with Stripe (and optionally Qualpay) configured.
func (w *world) partner(name string, stripe bool) (string, string) {
	w.t.Helper()
	pid, key := w.env.Partner(name)
	if stripe {
		if _, err := w.env.Credentials.ConfigureStripe(context.Background(), pid, credentials.StripeCredentials{SecretKey: sk, ClientID: caID, WebhookSecret: whsec}); err != nil {
			w.t.Fatalf("configure stripe: %v", err)
		}
	}
	return pid, key
}

func (w *world) company(key, ext string) string {
	w.t.Helper()
	res := testenv.Do(w.t, "POST", w.srv.URL+"/v1/companies", key, map[string]string{"external_id": ext, "name": "Company " + ext})
	if res.Status != 201 {
		w.t.Fatalf("create company = %d %s", res.Status, res.Body)
	}
	var c struct{ ID string }
	res.JSON(w.t, &c)
	return c.ID
}

// start runs Start Stripe Flow, opens the start link in the test browser
// (which binds the flow to it) and returns the authorize URL it redirects to.
func (w *world) start(key, companyID, returnURL string) *url.URL {
	w.t.Helper()
	res := testenv.Do(w.t, "POST", w.srv.URL+"/v1/companies/"+companyID+"/stripe/connect", key, map[string]string{"return_url": returnURL})
	if res.Status != 201 {
		w.t.Fatalf("start = %d %s", res.Status, res.Body)
	}
	var out struct{ URL string }
	res.JSON(w.t, &out)
	pg := browse(w.t, "GET", out.URL, nil)
	if pg.status != http.StatusFound {
		w.t.Fatalf("start link = %d %s", pg.status, pg.body)
	}
	u, err := url.Parse(pg.location)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// callbackURL is where Stripe would send the browser after approval.
func callbackURL(authz *url.URL, code string) string {
	q := url.Values{"state": {authz.Query().Get("state")}, "code": {code}, "scope": {"read_write"}}
	return authz.Query().Get("redirect_uri") + "?" + q.Encode()
}

// connectOAuth runs the whole flow for accountID and returns the final Location.
func (w *world) connectOAuth(key, companyID, accountID string) string {
	w.t.Helper()
	authz := w.start(key, companyID, "https://partner.example/done")
	code, err := w.fake.IssueCode(caID, accountID)
	if err != nil {
		w.t.Fatal(err)
	}
	res := browse(w.t, "GET", callbackURL(authz, code), nil)
	if res.status != http.StatusFound {
		w.t.Fatalf("callback = %d %s", res.status, res.body)
	}
	return res.location
}

type page struct {
	status   int
	location string
	ctype    string
	body     string
	cookies  []*http.Cookie
}

// browser is the test's browser: its cookies carry the OAuth flow binding.
var browser, _ = cookiejar.New(nil)

// browse is one step of the test browser: no automatic redirects, so each hop is checked.
func browse(t *testing.T, method, u string, form url.Values) page {
	t.Helper()
	return browseWith(t, browser, method, u, form)
}

// browseWith is a step of another browser (its own cookies, or none).
func browseWith(t *testing.T, jar http.CookieJar, method, u string, form url.Values) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 20 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, location: res.Header.Get("Location"), ctype: res.Header.Get("Content-Type"), body: string(b), cookies: res.Cookies()}
}

func (w *world) connections(key, companyID string) []map[string]any {
	w.t.Helper()
	res := testenv.Do(w.t, "GET", w.srv.URL+"/v1/companies/"+companyID+"/connections", key, nil)
	if res.Status != 200 {
		w.t.Fatalf("connections = %d %s", res.Status, res.Body)
	}
	var out struct{ Data []map[string]any }
	res.JSON(w.t, &out)
	return out.Data
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustQuery(t *testing.T, raw string) (*url.URL, url.Values) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u, u.Query()
}

func scanInput(table string, start map[string]types.AttributeValue) *dynamodb.ScanInput {
	return &dynamodb.ScanInput{TableName: aws.String(table), ExclusiveStartKey: start}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
