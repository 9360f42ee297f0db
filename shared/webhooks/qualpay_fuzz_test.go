package webhooks_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/store"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// memDB is the slice of DynamoDB the Qualpay handler touches (conditional put
// of the marker, get, delete), in memory, so the fuzz target runs without AWS.
type memDB struct {
	store.API // anything else is unexpected: nil, so it would fail loudly
	mu        sync.Mutex
	items     map[string]map[string]types.AttributeValue
}

func memKey(k map[string]types.AttributeValue) string {
	return k["pk"].(*types.AttributeValueMemberS).Value + "\x00" + k["sk"].(*types.AttributeValueMemberS).Value
}

func (m *memDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey(in.Item)
	if _, ok := m.items[k]; ok && aws.ToString(in.ConditionExpression) == "attribute_not_exists(pk)" {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("exists")}
	}
	m.items[k] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

// TransactWriteItems supports the puts a rejected event writes (marker + rejection).
func (m *memDB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	reasons := make([]types.CancellationReason, len(in.TransactItems))
	failed := false
	for i, it := range in.TransactItems {
		reasons[i].Code = aws.String("None")
		if it.Put == nil {
			return nil, &types.InternalServerError{Message: aws.String("memDB: only puts")}
		}
		if _, ok := m.items[memKey(it.Put.Item)]; ok && aws.ToString(it.Put.ConditionExpression) == "attribute_not_exists(pk)" {
			reasons[i].Code, failed = aws.String("ConditionalCheckFailed"), true
		}
	}
	if failed {
		return nil, &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: reasons}
	}
	for _, it := range in.TransactItems {
		m.items[memKey(it.Put.Item)] = it.Put.Item
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func (m *memDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &dynamodb.GetItemOutput{Item: m.items[memKey(in.Key)]}, nil
}

func (m *memDB) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, memKey(in.Key))
	return &dynamodb.DeleteItemOutput{}, nil
}

type fuzzRoutes struct{}

func (fuzzRoutes) LookupRoute(_ context.Context, provider, account string) (companies.Route, error) {
	if provider == "qualpay" && account == qpMID {
		return companies.Route{Provider: provider, AccountID: account, PartnerID: "pt_fuzz", CompanyID: "co_fuzz"}, nil
	}
	return companies.Route{}, apperr.New(apperr.NotFound, "no route")
}

type fuzzKeys struct{}

func (fuzzKeys) StripeKeys(context.Context, string) (credentials.StripeCredentials, error) {
	return credentials.StripeCredentials{}, apperr.New(apperr.NotFound, "stripe not configured")
}

func (fuzzKeys) QualpayKeys(_ context.Context, pid string) (credentials.QualpayCredentials, error) {
	if pid != "pt_fuzz" {
		return credentials.QualpayCredentials{}, apperr.New(apperr.NotFound, "qualpay not configured")
	}
	return credentials.QualpayCredentials{SecurityKey: qpKey, Environment: "sandbox",
		WebhookSecrets: []credentials.WebhookSecret{{ID: "whs_1", Kind: credentials.KindQualpay, Secret: qpSecret}}}, nil
}

type nopQueue struct{}

func (nopQueue) Enqueue(context.Context, queue.Job) error { return nil }

// FuzzQualpaySignature: for any body and signature header, on the shared and
// the per-partner URL, the handler never panics; it accepts only a signature
// that verifies, and a correctly signed body of any shape gets a result or a
// client (4xx) error, never anything else.
func FuzzQualpaySignature(f *testing.F) {
	sig := webhooks.SignQualpay
	for _, b := range []string{
		`{"event":"batch_settled","merchant_id":212000000001}`,
		`{"event_type":"transaction_settled","event_id":"ev_1","data":{"merchant_id":"212000000001","pg_id":"pg1"}}`,
		`{"event":"","merchant_id":212000000001}`,
		`{"event":"x","merchant_id":{"a":1},"id":[1]}`,
		`{"event":"deposit","merchant_id":1e400}`,
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(b), sig([]byte(b), qpSecret), false)
		f.Add([]byte(b), sig([]byte(b), "other"), true)
		f.Add([]byte(b), "", false)
	}
	db := &memDB{items: map[string]map[string]types.AttributeValue{}}
	svc := &webhooks.Service{Store: store.New(db, "fuzz"), Routes: fuzzRoutes{}, Keys: fuzzKeys{}, Queue: nopQueue{},
		Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := context.Background()
	clientErr := func(t *testing.T, what string, err error) {
		if err == nil {
			return
		}
		if _, ok := apperr.As(err); !ok || apperr.Status(apperr.CodeOf(err)) >= 500 {
			t.Fatalf("%s: not a client error: %v", what, err)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, header string, perPartner bool) {
		path := ""
		if perPartner {
			path = "pt_fuzz"
		}
		_, err := svc.HandleQualpay(ctx, path, body, header, webhooks.BasicAuth{})
		if err == nil && !webhooks.VerifyQualpay(body, header, qpSecret) {
			t.Fatalf("accepted a bad signature %q for %q", header, body)
		}
		clientErr(t, "fuzzed header", err)
		_, err = svc.HandleQualpay(ctx, path, body, sig(body, qpSecret), webhooks.BasicAuth{})
		clientErr(t, "valid signature", err)
		_, err = svc.HandleQualpay(ctx, path, body, sig(body, qpSecret+"x"), webhooks.BasicAuth{})
		if err == nil {
			t.Fatalf("accepted a signature made with another secret for %q", body)
		}
		clientErr(t, "wrong secret", err)
	})
}
