package recon

import (
	"errors"
	"math"
	"strings"

	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/payouts"
)

// Table is the matcher's input in compact form: every ID and text of every line
// and payout sits back to back in a string arena, the short values that repeat
// (currencies, providers, accounts, descriptors) are interned once, and each
// line or payout is a small value struct of offsets and numbers. A million
// lines and their payouts take about 140 MB here against about 630 MB as
// []BankLine and []payouts.Payout, and the garbage collector has almost no
// pointers to scan.
//
// Add the candidates (AddLine, AddPayout, AddCurrency), then call RunTable.
// Run builds a Table from an Input; callers holding many lines can build the
// Table directly and drop their own copies.
type Table struct {
	arena arena
	strs  []string // interned values; index 0 is ""
	sidx  map[string]uint32
	lines []tline
	pays  []tpay
	curs  []uint32  // bank account currencies, normalised (strs indexes)
	notes []payNote // the few payouts with an itemisation issue or note
}

// payNote is a payout's ItemisationIssue and ItemisationNote (see issue.go).
type payNote struct {
	i           int32 // table index
	issue, note string
}

// arena holds text in 1 MiB chunks that are never grown past their first
// capacity nor rewritten, so a string taken from one stays valid and costs
// nothing, and growing the arena never copies it. One row (a line's ID and
// texts, at most 5 × 64 KiB) always fits in one chunk.
type arena struct {
	chunks []*strings.Builder
}

const chunkBits = 20

// reserve makes room for n bytes in one chunk and returns their offset.
func (a *arena) reserve(n int) (uint32, error) {
	if k := len(a.chunks); k == 0 || a.chunks[k-1].Cap()-a.chunks[k-1].Len() < n {
		if k == 1<<(32-chunkBits) {
			return 0, errFull
		}
		b := new(strings.Builder)
		b.Grow(max(n, 1<<chunkBits))
		a.chunks = append(a.chunks, b)
	}
	last := a.chunks[len(a.chunks)-1]
	return uint32(len(a.chunks)-1)<<chunkBits | uint32(last.Len()), nil
}

func (a *arena) write(s string) { a.chunks[len(a.chunks)-1].WriteString(s) }

func (a *arena) str(off uint32, n int) string {
	at := int(off & (1<<chunkBits - 1))
	return a.chunks[off>>chunkBits].String()[at : at+n]
}

// tline is one posted bank line: the arena holds, from off, its ID, Name,
// OriginalDescription, MerchantName and counterparties (joined by NUL).
type tline struct {
	amt                       int64
	off                       uint32
	date                      Date
	cur                       uint32
	nID, nName, nDesc, nMerch uint16
	nCps                      uint16
}

// tpay is one payout's header: the arena holds its ID, then its reference.
type tpay struct {
	amt           int64
	off           uint32
	date          Date
	cur, prov     uint32
	acct, desc    uint32
	nID, nRef     uint16
	status, items uint8
}

// NewTable returns an empty table sized for about lines lines and pays payouts.
func NewTable(lines, pays int) *Table {
	t := &Table{strs: []string{""}, sidx: map[string]uint32{"": 0}}
	t.lines = make([]tline, 0, lines)
	t.pays = make([]tpay, 0, pays)
	return t
}

// Len is the number of lines and payouts held.
func (t *Table) Len() (lines, pays int) { return len(t.lines), len(t.pays) }

func (t *Table) intern(s string) uint32 {
	if i, ok := t.sidx[s]; ok {
		return i
	}
	i := uint32(len(t.strs))
	s = strings.Clone(s) // do not keep the caller's larger allocation alive
	t.strs = append(t.strs, s)
	t.sidx[s] = i
	return i
}

// cut returns s cut to at most 64 KiB - 1 bytes, the most a row field holds.
func cut(s string) string { return s[:min(len(s), math.MaxUint16)] }

var (
	errLine   = errors.New("id, date and currency are required")
	errPayout = errors.New("id, currency and arrival_date YYYY-MM-DD are required")
	errFull   = errors.New("more than 4 GiB of text in the table")
)

// AddCurrency records a currency one of the company's bank accounts holds.
func (t *Table) AddCurrency(c string) {
	if c, err := money.NormalizeCurrency(c); err == nil {
		i := t.intern(c)
		for _, x := range t.curs {
			if x == i {
				return
			}
		}
		t.curs = append(t.curs, i)
	}
}

// AddLine adds a bank line. A pending or zero line only records its currency
// (the account still holds it); the caller leaves out lines already matched.
// Each text is cut to 64 KiB and the counterparties to 64 KiB in all (FromPlaid
// already caps texts at 512 bytes).
func (t *Table) AddLine(l *BankLine) error {
	t.AddCurrency(l.Currency)
	if l.Pending || l.Amount == 0 {
		return nil
	}
	if l.ID == "" || len(l.ID) > math.MaxUint16 || l.Date.IsZero() || len(l.Currency) != 3 {
		return errLine
	}
	name, desc, merch := cut(l.Name), cut(l.OriginalDescription), cut(l.MerchantName)
	cps := l.Counterparties
	n := 0
	for i, c := range cps {
		if n+len(c)+1 > math.MaxUint16 {
			cps = cps[:i]
			break
		}
		n += len(c) + boolInt(i > 0)
	}
	off, err := t.arena.reserve(len(l.ID) + len(name) + len(desc) + len(merch) + n)
	if err != nil {
		return err
	}
	r := tline{amt: l.Amount, off: off, date: l.Date, cur: t.intern(l.Currency), nID: uint16(len(l.ID)),
		nName: uint16(len(name)), nDesc: uint16(len(desc)), nMerch: uint16(len(merch)), nCps: uint16(n)}
	t.arena.write(l.ID)
	t.arena.write(name)
	t.arena.write(desc)
	t.arena.write(merch)
	for i, c := range cps {
		if i > 0 {
			t.arena.write("\x00")
		}
		t.arena.write(c)
	}
	t.lines = append(t.lines, r)
	return nil
}

// AddPayout adds a payout's header (its items are not read). A zero payout is
// left out; the caller leaves out payouts already matched.
func (t *Table) AddPayout(p *payouts.Payout) error {
	if p.Amount == 0 {
		return nil
	}
	arr, err := ParseDate(p.ArrivalDate)
	if err != nil || p.ID == "" || len(p.ID) > math.MaxUint16 || len(p.Currency) != 3 {
		return errPayout
	}
	ref := cut(p.Reference)
	off, err := t.arena.reserve(len(p.ID) + len(ref))
	if err != nil {
		return err
	}
	r := tpay{amt: bankUnits(p), off: off, date: arr, cur: t.intern(p.Currency), prov: t.intern(p.Provider),
		acct: t.intern(p.AccountID), desc: t.intern(p.Descriptor), nID: uint16(len(p.ID)), nRef: uint16(len(ref))}
	t.arena.write(p.ID)
	t.arena.write(ref)
	if p.ItemisationIssue != "" || p.ItemisationNote != "" {
		t.notes = append(t.notes, payNote{i: int32(len(t.pays)), issue: p.ItemisationIssue, note: p.ItemisationNote})
	}
	switch p.Status {
	case payouts.StatusPaid:
		r.status = stPaid
	case payouts.StatusFailed, payouts.StatusCanceled:
		r.status = stFailed
	default:
		r.status = stOpen
	}
	switch p.ItemisationStatus {
	case payouts.ItemisationComplete:
		r.items = itComplete
	case payouts.ItemisationIncomplete:
		r.items = itIncomplete
	default:
		r.items = itPending
	}
	t.pays = append(t.pays, r)
	return nil
}

func (t *Table) lineID(i int32) string {
	l := &t.lines[i]
	return t.arena.str(l.off, int(l.nID))
}

func (t *Table) payoutID(i int32) string {
	p := &t.pays[i]
	return t.arena.str(p.off, int(p.nID))
}

func (t *Table) reference(i int32) string {
	p := &t.pays[i]
	return t.arena.str(p.off, int(p.nID)+int(p.nRef))[p.nID:]
}

// lineText returns a line's Name, OriginalDescription, MerchantName and
// counterparties (NUL-separated).
func (t *Table) lineText(i int32) (name, desc, merch, cps string) {
	l := &t.lines[i]
	s := t.arena.str(l.off, int(l.nID)+int(l.nName)+int(l.nDesc)+int(l.nMerch)+int(l.nCps))
	o := int(l.nID)
	name, o = s[o:o+int(l.nName)], o+int(l.nName)
	desc, o = s[o:o+int(l.nDesc)], o+int(l.nDesc)
	merch, o = s[o:o+int(l.nMerch)], o+int(l.nMerch)
	return name, desc, merch, s[o:]
}
