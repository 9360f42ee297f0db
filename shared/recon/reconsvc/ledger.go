package reconsvc

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/store"
)

// A match's journal and invoice links are their own items, in fixed-size
// chunks, so no item grows with the match (docs/sizes.md has every bound):
//
//	JE#<match>#<entry, 4 digits>#<part, 5 digits>  one entry's header and up
//	                                               to journalChunkLines lines
//	MATCHINV#<match>#<chunk, 5 digits>             up to invoiceChunkIDs invoice IDs
//
// They are written (BatchWriteItem, 25 a call) before the match header's
// transaction, and read only through the header: a chunk counts when its
// entry index is below the header's entry_count (invoice chunk below
// invoice_chunks). So a crash before the header's write leaves nothing
// visible, and a reversal is new chunks after the originals plus one small
// update of the header.
const (
	skJournal = "JE#"
	skInvoice = "MATCHINV#"

	journalChunkLines = 40
	invoiceChunkIDs   = 200

	// Text bounds of a stored journal line (IDs as Stripe's, at most 255;
	// account names are validated to 100; memos are clipped).
	maxIDLen   = 255
	maxMemoLen = 350
)

func journalSK(matchID string, entry, part int) string {
	return fmt.Sprintf("%s%s#%04d#%05d", skJournal, matchID, entry, part)
}

func invoiceSK(matchID string, chunk int) string {
	return fmt.Sprintf("%s%s#%05d", skInvoice, matchID, chunk)
}

// journalChunk is one part of one journal entry of a match.
type journalChunk struct {
	store.Keys
	PartnerID string      `dynamodbav:"partner_id"`
	CompanyID string      `dynamodbav:"company_id"`
	MatchID   string      `dynamodbav:"match_id"`
	Index     int         `dynamodbav:"index"` // the entry's position in the match
	Part      int         `dynamodbav:"part"`
	Parts     int         `dynamodbav:"parts"`
	Entry     recon.Entry `dynamodbav:"entry"` // Lines holds this part's lines only
}

// invoiceChunk is one chunk of the invoice IDs a match's payments paid.
type invoiceChunk struct {
	store.Keys
	PartnerID  string   `dynamodbav:"partner_id"`
	CompanyID  string   `dynamodbav:"company_id"`
	MatchID    string   `dynamodbav:"match_id"`
	Chunk      int      `dynamodbav:"chunk"`
	InvoiceIDs []string `dynamodbav:"invoice_ids"`
}

// clipEntry bounds an entry's free text so a chunk has a fixed ceiling.
func clipEntry(e recon.Entry) recon.Entry {
	e.Memo, e.PayoutID = clip(e.Memo, maxMemoLen), clip(e.PayoutID, maxIDLen)
	lines := make([]recon.EntryLine, len(e.Lines))
	for i, l := range e.Lines {
		l.Account, l.Memo = clip(l.Account, 100), clip(l.Memo, maxMemoLen)
		l.PayoutID, l.SourceID, l.PaymentID = clip(l.PayoutID, maxIDLen), clip(l.SourceID, maxIDLen), clip(l.PaymentID, maxIDLen)
		l.InvoiceID, l.BankTransactionID = clip(l.InvoiceID, maxIDLen), clip(l.BankTransactionID, maxIDLen)
		lines[i] = l
	}
	e.Lines = lines
	return e
}

// journalPuts renders entries as chunk puts, the first entry at index from.
func journalPuts(pid, cid, matchID string, from int, entries []recon.Entry) ([]types.WriteRequest, error) {
	pk := store.CompanyPK(pid, cid)
	var reqs []types.WriteRequest
	for i, e := range entries {
		e = clipEntry(e)
		parts := max(1, (len(e.Lines)+journalChunkLines-1)/journalChunkLines)
		for part := 0; part < parts; part++ {
			c := journalChunk{PartnerID: pid, CompanyID: cid, MatchID: matchID, Index: from + i, Part: part, Parts: parts, Entry: e}
			c.Entry.Lines = e.Lines[min(part*journalChunkLines, len(e.Lines)):min((part+1)*journalChunkLines, len(e.Lines))]
			c.PK, c.SK = pk, journalSK(matchID, from+i, part)
			req, err := store.PutRequest(c)
			if err != nil {
				return nil, err
			}
			reqs = append(reqs, req)
		}
	}
	return reqs, nil
}

// invoicePuts renders invoice IDs as chunk puts; it returns how many chunks.
func invoicePuts(pid, cid, matchID string, ids []string) ([]types.WriteRequest, int, error) {
	pk := store.CompanyPK(pid, cid)
	var reqs []types.WriteRequest
	n := 0
	for start := 0; start < len(ids); start += invoiceChunkIDs {
		c := invoiceChunk{PartnerID: pid, CompanyID: cid, MatchID: matchID, Chunk: n, InvoiceIDs: ids[start:min(start+invoiceChunkIDs, len(ids))]}
		for i, id := range c.InvoiceIDs {
			c.InvoiceIDs[i] = clip(id, maxIDLen)
		}
		c.PK, c.SK = pk, invoiceSK(matchID, n)
		req, err := store.PutRequest(c)
		if err != nil {
			return nil, 0, err
		}
		reqs = append(reqs, req)
		n++
	}
	return reqs, n, nil
}

// entries reads a match's journal (the entries its header counts), joining
// each entry's parts.
func (s *Service) entries(ctx context.Context, m Match) ([]recon.Entry, error) {
	out := make([]recon.Entry, 0, m.EntryCount)
	err := s.Store.QueryAll(ctx, store.Query{PK: store.CompanyPK(m.PartnerID, m.CompanyID), SKPrefix: skJournal + m.ID + "#", Limit: 200}, 0,
		func(items []map[string]types.AttributeValue) error {
			var page []journalChunk
			if err := attributevalue.UnmarshalListOfMaps(items, &page); err != nil {
				return err
			}
			for _, c := range page {
				switch {
				case c.Index >= m.EntryCount:
					// written by a reversal that did not commit: not part of the match
				case c.Part == 0 && c.Index == len(out):
					out = append(out, c.Entry)
				case c.Part > 0 && c.Index == len(out)-1:
					out[c.Index].Lines = append(out[c.Index].Lines, c.Entry.Lines...)
				default:
					return fmt.Errorf("journal of match %s: part %d of entry %d out of order", m.ID, c.Part, c.Index)
				}
			}
			return nil
		})
	if err == nil && len(out) != m.EntryCount {
		err = fmt.Errorf("journal of match %s: %d of %d entries on file", m.ID, len(out), m.EntryCount)
	}
	return out, err
}

// MatchInvoiceIDs streams the invoice IDs a match's payments paid, a chunk at
// a time (at most invoiceChunkIDs each), for the invoice rules: which invoices
// a match (or its reversal) concerns. 404 apperr for an unknown match.
func (s *Service) MatchInvoiceIDs(ctx context.Context, pid, cid, matchID string, fn func(ids []string) error) error {
	m, err := s.GetMatch(ctx, pid, cid, matchID)
	if err != nil {
		return err
	}
	return s.invoiceIDs(ctx, m, fn)
}

func (s *Service) invoiceIDs(ctx context.Context, m Match, fn func(ids []string) error) error {
	if m.InvoiceChunks == 0 {
		return nil
	}
	return s.Store.QueryAll(ctx, store.Query{PK: store.CompanyPK(m.PartnerID, m.CompanyID), SKFrom: invoiceSK(m.ID, 0), SKTo: invoiceSK(m.ID, m.InvoiceChunks-1), Limit: 20}, 0,
		func(items []map[string]types.AttributeValue) error {
			var page []invoiceChunk
			if err := attributevalue.UnmarshalListOfMaps(items, &page); err != nil {
				return err
			}
			for _, c := range page {
				if err := fn(c.InvoiceIDs); err != nil {
					return err
				}
			}
			return nil
		})
}

// headers reads match headers by ID (BatchGetItem), for checking listed chunks.
func (s *Service) headers(ctx context.Context, pk string, ids []string) (map[string]Match, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, store.Key(pk, skMatch+id))
		}
	}
	out := make(map[string]Match, len(keys))
	err := store.BatchGetAs(ctx, s.Store, keys, func(m Match) { out[m.ID] = m })
	return out, err
}

// entryID names an entry in the API: its match and 1-based position.
func entryID(matchID string, index int) string { return matchID + "." + strconv.Itoa(index+1) }
