package recon

import (
	"errors"
	"math"
	"strings"

	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/payouts"
)

// Table is the matcher's input in compact form: every ID and text of every line
// and payout sits back to back in one string arena, the short values that repeat
// (currencies, providers, accounts, descriptors, statuses) are interned once, and
// each line or payout is a small value struct of offsets and numbers. A million
// lines take about 90 MB here against about 600 MB as []BankLine and
// []payouts.Payout, and the garbage collector has almost no pointers to scan.
//
// Add the candidates (AddLine, AddPayout, AddCurrency), then call RunTable.
// Run builds a Table from an Input; callers holding many lines can build the
// Table directly and drop their own copies.
type Table struct {
	arena strings.Builder // IDs, references and texts, never rewritten
	strs  []string        // interned values; index 0 is ""
	sidx  map[string]uint32
	lines []tline
	pays  []tpay
	curs  []uint32 // bank account currencies, normalised (strs indexes)
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
	t.arena.Grow(lines*48 + pays*16)
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

// put appends s to the arena, cut to max bytes.
func (t *Table) put(s string, max int) int {
	s = s[:min(len(s), max)]
	t.arena.WriteString(s)
	return len(s)
}

var (
	errLine   = errors.New("id, date and currency are required")
	errPayout = errors.New("id, currency and arrival_date YYYY-MM-DD are required")
	errFull   = errors.New("recon: table: more than 4 GiB of text")
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
func (t *Table) AddLine(l *BankLine) error {
	t.AddCurrency(l.Currency)
	if l.Pending || l.Amount == 0 {
		return nil
	}
	if l.ID == "" || len(l.ID) > math.MaxUint16 || l.Date.IsZero() || len(l.Currency) != 3 {
		return errLine
	}
	if t.arena.Len() > math.MaxUint32-5*math.MaxUint16 {
		return errFull
	}
	r := tline{amt: l.Amount, off: uint32(t.arena.Len()), date: l.Date, cur: t.intern(l.Currency), nID: uint16(len(l.ID))}
	t.arena.WriteString(l.ID)
	r.nName = uint16(t.put(l.Name, math.MaxUint16))
	r.nDesc = uint16(t.put(l.OriginalDescription, math.MaxUint16))
	r.nMerch = uint16(t.put(l.MerchantName, math.MaxUint16))
	n := 0
	for i, c := range l.Counterparties {
		if n+len(c)+1 > math.MaxUint16 {
			break
		}
		if i > 0 {
			t.arena.WriteByte(0)
			n++
		}
		n += t.put(c, math.MaxUint16)
	}
	r.nCps = uint16(n)
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
	if t.arena.Len() > math.MaxUint32-3*math.MaxUint16 {
		return errFull
	}
	r := tpay{amt: p.Amount, off: uint32(t.arena.Len()), date: arr, cur: t.intern(p.Currency), prov: t.intern(p.Provider),
		acct: t.intern(p.AccountID), desc: t.intern(p.Descriptor), nID: uint16(len(p.ID))}
	t.arena.WriteString(p.ID)
	r.nRef = uint16(t.put(p.Reference, math.MaxUint16))
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

// The arena is only ever appended to, so a string taken from it stays valid
// (strings.Builder copies into a new buffer when it grows) and costs nothing.
func (t *Table) text(off, n int) string {
	return t.arena.String()[off : off+n]
}

func (t *Table) lineID(i int32) string {
	l := &t.lines[i]
	return t.text(int(l.off), int(l.nID))
}

func (t *Table) payoutID(i int32) string {
	p := &t.pays[i]
	return t.text(int(p.off), int(p.nID))
}

func (t *Table) reference(i int32) string {
	p := &t.pays[i]
	return t.text(int(p.off)+int(p.nID), int(p.nRef))
}

// lineText returns a line's Name, OriginalDescription, MerchantName and
// counterparties (NUL-separated).
func (t *Table) lineText(i int32) (name, desc, merch, cps string) {
	l := &t.lines[i]
	s := t.arena.String()
	o := int(l.off) + int(l.nID)
	name, o = s[o:o+int(l.nName)], o+int(l.nName)
	desc, o = s[o:o+int(l.nDesc)], o+int(l.nDesc)
	merch, o = s[o:o+int(l.nMerch)], o+int(l.nMerch)
	return name, desc, merch, s[o : o+int(l.nCps)]
}
