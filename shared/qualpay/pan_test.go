package qualpay_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/qualpay"
)

func TestLooksLikePAN(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"visa", "4111111111111111", true},
		{"visa spaced", "4111 1111 1111 1111", true},
		{"visa dashed", "4111-1111-1111-1111", true},
		{"amex 15", "378282246310005", true},
		{"19 digits", "6011000990139424000", luhnOK("6011000990139424000")},
		{"embedded in text", "my card is 5555555555554444 thanks", true},
		{"followed by expiry", "4111 1111 1111 1111 1228", true},
		{"fails luhn", "4111111111111112", false},
		{"12 digits", "411111111111", false},
		{"merchant-like 12 digits", "212000000001", false},
		{"phone", "+1 650-555-0100", false},
		{"date", "2024-01-15 12:00:00", false},
		{"card_id token", "86e1b00d9b0811e68df3069d8f743581", false},
		{"hex token with long digit run", "a4111111111111111b00000000000000", false},
		{"ungrouped 24 digits is an ID", "411111111111111100000000", false},
		{"empty", "", false},
		{"dotted", "4111.1111.1111.1111", true},
		{"slashed", "4111/1111/1111/1111", true},
		{"underscored", "4111_1111_1111_1111", true},
		{"tabbed", "4111\t1111\t1111\t1111", true},
		{"two spaces", "4111  1111  1111  1111", true},
		{"spaced dash", "4111 - 1111 - 1111 - 1111", true},
		{"no-break space", "4111\u00a01111\u00a01111\u00a01111", true},
		{"narrow no-break space", "4111\u202f1111\u202f1111\u202f1111", true},
		{"em dash", "4111\u20141111\u20141111\u20141111", true},
		{"ideographic space", "4111\u30001111\u30001111\u30001111", true},
		{"mixed", "4111. 1111/1111_1111", true},
		{"as a first name", "first_name=4111.1111.1111.1111", true},
		{"long gap is not one number", "4111 1111    1111 1111", false},
		{"letters break it", "4111 1111 x 1111 1111", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := qualpay.LooksLikePAN(tc.in); got != tc.want {
				t.Fatalf("LooksLikePAN(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func luhnOK(d string) bool {
	sum, dbl := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if dbl {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum, dbl = sum+n, !dbl
	}
	return sum%10 == 0
}

func TestFindPAN(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"nested string", `{"billing_cards":[{"billing_addr1":"4111111111111111"}]}`, []string{"billing_cards[0].billing_addr1"}},
		{"json number", `{"card_number":4111111111111111}`, []string{"card_number"}},
		{"merchant_id skipped", `{"merchant_id":4111111111111111}`, nil},
		{"clean", `{"customer_first_name":"John","card_id":"86e1b00d9b0811e68df3069d8f743581"}`, nil},
		{"not json", `card 4111111111111111`, []string{"body"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := qualpay.FindPAN([]byte(tc.doc))
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("FindPAN = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPANGuard: no vault call may carry a raw card number to Qualpay.
func TestPANGuard(t *testing.T) {
	const pan = "4111111111111111"
	ctx := context.Background()
	tests := []struct {
		name      string
		call      func(cl *qualpay.Client) error
		wantField string
	}{
		{"in comments", func(cl *qualpay.Client) error {
			_, err := cl.CreateCustomer(ctx, mid, qualpay.CustomerInput{CustomerID: "A1", FirstName: "A", LastName: "B", Comments: "card " + pan})
			return err
		}, "comments"},
		{"spaced in billing address", func(cl *qualpay.Client) error {
			c := card("86e1b00d9b0811e68df3069d8f743581")
			c.BillingAddr1 = "4111 1111 1111 1111"
			_, err := cl.AddCard(ctx, mid, "A1", c)
			return err
		}, "billing_addr1"},
		{"in a replaced card list", func(cl *qualpay.Client) error {
			c := card("86e1b00d9b0811e68df3069d8f743581")
			c.BillingFirstName = pan
			_, err := cl.UpdateCustomer(ctx, mid, "A1", qualpay.CustomerUpdate{BillingCards: &[]qualpay.CardInput{c}})
			return err
		}, "billing_cards[0].billing_first_name"},
		{"as the customer_id", func(cl *qualpay.Client) error {
			_, err := cl.GetCustomer(ctx, mid, pan)
			return err
		}, "path"},
		{"in a card_id", func(cl *qualpay.Client) error {
			_, err := cl.DeleteCard(ctx, mid, "A1", pan)
			return err
		}, "path"},
		{"in a list filter", func(cl *qualpay.Client) error {
			_, err := cl.ListCustomers(ctx, mid, qualpay.ListParams{Filters: []qualpay.Filter{qualpay.Eq("comments", pan)}})
			return err
		}, "filter"},
		{"in a shipping address", func(cl *qualpay.Client) error {
			s := ship("A", "B")
			s.Addr2 = "5555-5555-5555-4444"
			_, err := cl.AddShippingAddress(ctx, mid, "A1", s)
			return err
		}, "shipping_addr2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fk, cl, _ := setup(t)
			err := tc.call(cl)
			ae := wantCode(t, err, apperr.Unprocessable)
			if _, ok := ae.Fields[tc.wantField]; !ok {
				if tc.wantField != "path" || len(ae.Fields) == 0 {
					t.Errorf("fields = %v, want %s", ae.Fields, tc.wantField)
				}
			}
			if strings.Contains(err.Error(), "4111") || strings.Contains(err.Error(), "5555") {
				t.Errorf("error echoes the number: %v", err)
			}
			if n := len(fk.Requests()); n != 0 {
				t.Errorf("%d requests reached Qualpay", n)
			}
		})
	}
}

// FuzzLooksLikePAN: whatever surrounds it, a Visa test number is found, by the
// string check and by the JSON walk, and no input makes either panic.
func FuzzLooksLikePAN(f *testing.F) {
	for _, s := range []string{"", "4111111111111111", "x 4111-1111-1111-1111 y", "212000000001", "a4111111111111111b", "1 2 3 4 5 6 7 8 9 0 1 2 3"} {
		f.Add(s, uint8(0))
	}
	f.Add("9", uint8(3))
	f.Add("name: ", uint8(7))
	f.Fuzz(func(t *testing.T, s string, sepIdx uint8) {
		if len(s) > 512 {
			return
		}
		// The Visa test number grouped by any of the separators that once hid it.
		seps := []string{"", " ", "-", ".", "/", "_", "\t", "  ", " - ", "\u00a0", "\u2009", "\u2013", "\u3000", ". "}
		sep := seps[int(sepIdx)%len(seps)]
		pan := strings.Join([]string{"4111", "1111", "1111", "1111"}, sep)
		probe := s + " " + pan + " " + s
		if !qualpay.LooksLikePAN(probe) {
			t.Fatalf("missed the PAN in %q", probe)
		}
		qualpay.LooksLikePAN(s)
		if got := qualpay.FindPAN([]byte(`{"a":` + strconvQuote(probe) + `}`)); len(got) == 0 {
			t.Fatalf("FindPAN missed %q", probe)
		}
	})
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
