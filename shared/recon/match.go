package recon

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"strings"

	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/payouts"
)

// Evidence levels (see the package documentation).
const (
	EvidenceNone       = 0
	EvidenceProvider   = 1
	EvidenceDescriptor = 2
	EvidenceReference  = 3
)

// Match kinds.
const (
	KindSingle   = "single"   // one line, one payout
	KindBatch    = "batch"    // one line, several payouts of the same day
	KindReturned = "returned" // a failed payout's deposit and its bank return
	KindManual   = "manual"   // made by a person (see CheckManual)
)

// Exception reasons.
const (
	ReasonUnmatchedDeposit      = "unmatched_deposit"
	ReasonUnmatchedPayout       = "unmatched_payout"
	ReasonAmbiguous             = "ambiguous"
	ReasonAmountMismatch        = "amount_mismatch"
	ReasonCurrencyMismatch      = "currency_mismatch"
	ReasonItemisationIncomplete = "itemisation_incomplete"
)

// Config tunes the matcher. Start from DefaultConfig; every field is used as is.
type Config struct {
	// Today is the reconciliation date: "window passed" is judged against it.
	Today    Date
	Calendar Calendar
	// Before and After bound the bank date around the payout's arrival date, in
	// business days: arrival-Before .. arrival+After. A line with no explanation
	// After business days after it posted is an unmatched_deposit.
	Before, After int
	// ReturnWindow is how many business days after a failed payout's deposit its
	// bank return (money-out line) may post.
	ReturnWindow int
	// Keywords maps a provider to the texts that identify its deposits on a bank
	// line ("STRIPE"); add each connection's descriptors here. Payout descriptors
	// are recognised without being listed.
	Keywords map[string][]string
	// NotProcessor are texts that identify a line as something else (a check,
	// Zelle, an internal transfer): such a line names no provider and is no
	// candidate for any payout. Plaid merchant names and counterparties that
	// match no provider text count the same way.
	NotProcessor []string
	// Near-equal tolerance for amount_mismatch: max(NearBasisPoints/10000 of the
	// payout amount, NearMinor minor units).
	NearBasisPoints int64
	NearMinor       int64
	// MaxCandidates is the most exact-amount candidates kept per line or payout;
	// a node with more is ambiguous.
	MaxCandidates int
	// Batch search bounds: at most SubsetMaxPayouts open payouts in a (provider,
	// account, currency, day) block, subsets of 2..SubsetMaxSize, SubsetBudget
	// subsets visited per block.
	SubsetMaxPayouts int
	SubsetMaxSize    int
	SubsetBudget     int
	GroupMinEvidence int
	// MaxRounds bounds the pairing rounds (each is O(remaining)).
	MaxRounds int
}

// DefaultConfig returns the documented defaults for a run on today.
func DefaultConfig(today Date) Config {
	return Config{
		Today:            today,
		Before:           1,
		After:            5,
		ReturnWindow:     10,
		Keywords:         map[string][]string{payouts.Stripe: {"STRIPE"}, payouts.Qualpay: {"QUALPAY"}},
		NotProcessor:     []string{"CHECK", "ZELLE", "VENMO", "CASH APP", "PAYPAL", "PAYROLL", "INTEREST", "TRANSFER FROM", "TRANSFER TO", "ATM"},
		NearBasisPoints:  100,
		NearMinor:        100,
		MaxCandidates:    16,
		SubsetMaxPayouts: 12,
		SubsetMaxSize:    6,
		SubsetBudget:     5000,
		GroupMinEvidence: EvidenceProvider,
		MaxRounds:        12,
	}
}

func (c Config) validate() error {
	switch {
	case c.Today.IsZero():
		return errors.New("recon: config: Today is required")
	case c.Before < 0 || c.After < 0 || c.Before > 60 || c.After > 60:
		return errors.New("recon: config: Before and After must be 0..60 business days")
	case c.ReturnWindow < 0 || c.ReturnWindow > 120:
		return errors.New("recon: config: ReturnWindow must be 0..120")
	case c.NearBasisPoints < 0 || c.NearBasisPoints >= 10000 || c.NearMinor < 0:
		return errors.New("recon: config: bad near-equal tolerance")
	case c.MaxCandidates < 2:
		return errors.New("recon: config: MaxCandidates must be at least 2")
	case c.SubsetMaxPayouts < 0 || c.SubsetMaxPayouts > 24 || c.SubsetMaxSize < 0 || c.SubsetMaxSize > 12 || c.SubsetBudget < 0:
		return errors.New("recon: config: bad subset bounds")
	case c.MaxRounds < 1:
		return errors.New("recon: config: MaxRounds must be positive")
	}
	return nil
}

// Input is one company's candidates.
type Input struct {
	// Lines are bank lines; pending lines are ignored (only posted lines match).
	Lines []BankLine
	// Payouts are the company's payouts (Stripe payouts and Qualpay deposits);
	// only their header fields are read here.
	Payouts []payouts.Payout
	// MatchedLines and MatchedPayouts hold IDs already in a match: they are
	// skipped, which makes runs incremental and idempotent.
	MatchedLines   map[string]bool
	MatchedPayouts map[string]bool
	// Currencies are the currencies of the company's bank accounts; the
	// currencies of Lines are added. A payout in none of them is a currency_mismatch.
	Currencies []string
}

// Match links bank line(s) to payout(s).
type Match struct {
	Kind      string   `json:"kind"`
	LineIDs   []string `json:"bank_transaction_ids"` // the deposit first; for returned, then its return
	PayoutIDs []string `json:"payout_ids"`           // sorted
	Amount    int64    `json:"amount"`               // the deposit line's amount
	Currency  string   `json:"currency"`
	Date      Date     `json:"date"`     // the deposit line's date
	Rule      string   `json:"rule"`     // which rule decided: reference, descriptor, provider, amount_date, exact_date, subset, returned
	Evidence  int      `json:"evidence"` // evidence level of the weakest pairing
}

// Exception is something that did not reconcile, with what a person needs to act.
type Exception struct {
	Key       string   `json:"key"` // stable: reason + members; the same situation keeps the same key
	Reason    string   `json:"reason"`
	LineIDs   []string `json:"bank_transaction_ids,omitempty"`
	PayoutIDs []string `json:"payout_ids,omitempty"`
	Amount    int64    `json:"amount"` // the first line's amount, else the first payout's
	Currency  string   `json:"currency"`
	Date      Date     `json:"date,omitzero"`
	Message   string   `json:"message"`
}

// Waiting lists items that are neither matched nor exceptions yet (window open,
// payout not paid yet, weak pairing waiting for competitors).
type Waiting struct {
	LineIDs   []string `json:"bank_transaction_ids"`
	PayoutIDs []string `json:"payout_ids"`
}

// Stats counts what a run saw and did.
type Stats struct {
	Lines, Payouts           int // candidates considered (after skipping matched and pending)
	Matched, MatchedPayouts  int
	Exceptions               int
	WaitingLines             int
	WaitingPayouts           int
	Unrelated                int // lines naming no provider, with no candidate
	FailedPayouts            int // failed/canceled payouts not in a returned match
	Rounds                   int
	SubsetSteps, SubsetHits  int
	OverflowLines, Overflows int
}

// Result is everything a run decided. Exceptions describe the current state of
// the unmatched items: callers replace the previous run's open exceptions with
// these (same Key = same exception; a key no longer present is resolved).
type Result struct {
	Matches    []Match     `json:"matches"`
	Exceptions []Exception `json:"exceptions"`
	Waiting    Waiting     `json:"waiting"`
	Stats      Stats       `json:"stats"`
}

// Payout status classes.
const (
	stOpen uint8 = iota // pending, in_transit: competes, never matched
	stPaid
	stFailed // failed, canceled
)

// Itemisation classes.
const (
	itComplete uint8 = iota
	itPending
	itIncomplete
)

// Node flags.
const (
	fDone      uint8 = 1 << iota // matched, claimed or excepted in this run
	fOverflow                    // more than MaxCandidates candidates
	fDeferred                    // weak pairing waiting for its windows
	fExplained                   // named by an exception
	fWaiting                     // listed as waiting
)

// Records are laid out amount first so they pack into 32 bytes.
type lrec struct {
	amt    int64
	i      int32 // index in Input.Lines
	cur    int32
	ord    int32
	hint   uint32 // providers whose keywords are on the line
	hitOff int32  // accounts whose descriptors are on the line: pat.hits[hitOff:hitOff+hitLen],
	hitLen uint8  // then the payout references on it: the next refLen hits
	refLen uint8
	bev    int8 // best evidence of a batch solution using this line, -1 if none
	flags  uint8
}

type prec struct {
	amt    int64
	i      int32 // index in Input.Payouts
	cur    int32
	ord    int32
	prov   int32 // provider index, -1 if unknown
	acct   int32
	ref    int32 // reference pattern, -1 if none
	status uint8
	items  uint8
	bev    int8 // best evidence of a batch solution using this payout, -1 if none
	flags  uint8
}

type key struct {
	amt int64
	cur int32
	ord int32
	i   int32 // index into m.lines / m.pays
}

type edge struct {
	to   int32
	diff int16 // line ord - payout ord
	ev   int8
}

// summ counts saturate at 255: only 0, 1 and "more" matter.
type summ struct {
	bestTo  int32
	exactTo int32
	best    int8
	nBest   uint8
	nExact  uint8 // exact-date edges among the best
}

type matcher struct {
	cfg   Config
	t     *Table
	today int32
	provs []string // provider index -> name

	lines []lrec
	pays  []prec
	fails []prec

	lkeys, pkeys []key // sorted by cur, amt, ord
	lOff, pOff   []int32
	lEdges       []edge
	pEdges       []edge
	lsum, psum   []summ

	pat        patIndex
	bankCurs   map[int32]bool
	groupAmbig map[int32][]int32
	acc        []pair  // reused by every pairing round
	claims     []int32 // per payout: batch solutions claiming it (groups scratch)
	garena     []int32 // groups scratch, reused across rounds
	gsols      []sol
	gtent      []sol
	mrecs      []mrec
	marena     []int32 // payout indices (into Input.Payouts) of mrecs
	gorder     []int32 // payouts by (currency, day, provider, account, sign, amount)

	res Result
}

// bigRun is the size (lines and payouts) from which RunTable collects garbage
// between its phases.
const bigRun = 200_000

// Run matches in.Lines against in.Payouts under cfg. It never mutates in.
// It copies the candidates into a Table (see RunTable).
func Run(in Input, cfg Config) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	t := NewTable(len(in.Lines), len(in.Payouts))
	for _, c := range in.Currencies {
		t.AddCurrency(c)
	}
	for i := range in.Payouts {
		p := &in.Payouts[i]
		if in.MatchedPayouts[p.ID] {
			continue
		}
		if err := t.AddPayout(p); err != nil {
			return Result{}, fmt.Errorf("recon: payout %d (%q): %w", i, p.ID, err)
		}
	}
	for i := range in.Lines {
		l := &in.Lines[i]
		if in.MatchedLines[l.ID] {
			t.AddCurrency(l.Currency) // matched, the account still holds this currency
			continue
		}
		if err := t.AddLine(l); err != nil {
			return Result{}, fmt.Errorf("recon: bank line %d (%q): %w", i, l.ID, err)
		}
	}
	return RunTable(t, cfg)
}

// RunTable matches the table's lines against its payouts under cfg. It never
// mutates t, so one table can be run under several configs.
func RunTable(t *Table, cfg Config) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	m := &matcher{cfg: cfg, t: t}
	m.today = cfg.Calendar.Ord(cfg.Today)
	m.load()
	m.index()
	// Batches first: their search also marks every line and payout that some
	// batch solution uses (bev), and no one-to-one pairing with no more
	// evidence than that may take them.
	for r := 0; r < cfg.MaxRounds; r++ {
		if m.groups()+m.singles(false) == 0 {
			break
		}
	}
	m.returned()
	for r := 0; r < cfg.MaxRounds; r++ {
		if m.singles(true) == 0 {
			break
		}
	}
	m.classify()
	m.release()
	if len(t.lines)+len(t.pays) >= bigRun {
		// The working arrays are garbage now and the result is about to be
		// allocated: without a collection here it would take fresh pages and
		// the resident set would hold both. The heap is nearly free of pointers
		// (the table and the arrays are flat), so this costs a few milliseconds.
		runtime.GC()
	}
	m.finish()
	return m.res, nil
}

// load indexes providers, accounts, descriptors and references, and turns the
// table's rows into the matcher's records.
func (m *matcher) load() {
	t := m.t
	provIdx := map[string]int32{}
	names := make([]string, 0, len(m.cfg.Keywords))
	for p := range m.cfg.Keywords {
		names = append(names, p)
	}
	slices.Sort(names) // map order must not reach the output
	for _, p := range names {
		if len(m.provs) == 31 { // bit 31 is notProcessor
			break
		}
		provIdx[p] = int32(len(m.provs))
		m.provs = append(m.provs, p)
	}
	nRefs, nDescs, seen := 0, 0, make([]bool, len(t.strs))
	for i := range t.pays {
		if t.pays[i].nRef >= 4 {
			nRefs++
		}
		if d := t.pays[i].desc; !seen[d] {
			seen[d] = true
			nDescs++
		}
	}
	nKeys := len(m.cfg.NotProcessor)
	for _, ks := range m.cfg.Keywords {
		nKeys += len(ks)
	}
	m.pat = newPatIndex(nDescs+nKeys, nRefs)
	for _, p := range m.provs {
		for _, k := range m.cfg.Keywords[p] {
			m.pat.add(k, 1<<provIdx[p], -1, false)
		}
	}
	for _, k := range m.cfg.NotProcessor {
		m.pat.add(k, notProcessor, -1, false)
	}
	m.bankCurs = map[int32]bool{}
	for _, c := range t.curs {
		m.bankCurs[int32(c)] = true
	}

	// Payouts first: their descriptors and references are what lines are searched for.
	provOf := map[uint32]int32{} // table string -> provider index
	for s, i := range provIdx {
		if x, ok := t.sidx[s]; ok {
			provOf[x] = i
		}
	}
	m.pays = make([]prec, 0, len(t.pays))
	acctIdx := map[uint64]int32{} // provider and account ID (table strings) -> account
	var lastDesc []uint32         // per account: the descriptor last indexed
	for i := range t.pays {
		tp := &t.pays[i]
		r := prec{i: int32(i), cur: int32(tp.cur), ord: m.cfg.Calendar.Ord(tp.date), amt: tp.amt, prov: -1, ref: -1,
			bev: -1, status: tp.status, items: tp.items}
		if pi, ok := provOf[tp.prov]; ok {
			r.prov = pi
		}
		ak := uint64(tp.prov)<<32 | uint64(tp.acct)
		a, ok := acctIdx[ak]
		if !ok {
			a = int32(len(acctIdx))
			acctIdx[ak] = a
			lastDesc = append(lastDesc, math.MaxUint32)
		}
		r.acct = a
		var mask uint32
		if r.prov >= 0 {
			mask = 1 << r.prov
		}
		if tp.desc != lastDesc[a] { // most payouts repeat their account's descriptor
			m.pat.add(t.strs[tp.desc], mask, a, false)
			lastDesc[a] = tp.desc
		}
		if tp.nRef >= 4 {
			r.ref = m.pat.addRef(t.reference(int32(i)))
		}
		if r.status == stFailed {
			m.fails = append(m.fails, r)
			continue
		}
		m.pays = append(m.pays, r)
	}

	m.lines = make([]lrec, len(t.lines))
	m.mrecs = make([]mrec, 0, min(len(t.lines), len(m.pays)))
	m.marena = make([]int32, 0, len(m.pays))
	for i := range t.lines {
		tl := &t.lines[i]
		r := lrec{i: int32(i), cur: int32(tl.cur), ord: m.cfg.Calendar.Ord(tl.date), amt: tl.amt, bev: -1}
		r.hint, r.hitOff, r.hitLen, r.refLen = m.pat.scan(t.lineText(int32(i)))
		m.lines[i] = r
	}
	m.pat.release()
	m.res.Stats.Lines, m.res.Stats.Payouts = len(m.lines), len(m.pays)+len(m.fails)
}

// bankUnits is a payout's amount in the bank feed's (ISO 4217) minor units, so
// it compares with bank lines: Stripe writes ISK with two decimals, the bank with
// none. An amount the bank cannot represent stays as it is and so matches nothing.
func bankUnits(p *payouts.Payout) int64 {
	if p.Provider != payouts.Stripe {
		return p.Amount
	}
	v, err := money.Rescale(p.Amount, p.Currency, money.Stripe, money.ISO)
	if err != nil {
		return p.Amount
	}
	return v
}

// notProcessor marks a line that names someone other than a provider.
const notProcessor uint32 = 1 << 31

// patIndex finds provider keywords, known payout descriptors and payout
// references in line text. A pattern is indexed by its first word, or by its
// first two words when it has two or more ("QP STORE12" under "QP STORE12", not
// under the common "QP"), so a line costs two look-ups per word of its text
// however many patterns exist, and each line is read once: the evidence of a
// (line, payout) pair is then a look-up in the line's hits, not a text search.
// Keys are 64-bit hashes of the case-folded words and word pairs, computed as the
// line is read, and a bit set of them turns most words away before the map; a
// pattern whose key matches is still verified against the text, so a hash
// collision costs a check, never a false hit. Keywords and descriptors (a few,
// met on most lines) and references (one per payout, met once) are kept apart,
// so the frequent look-ups stay in a small, cached map.
type patIndex struct {
	text  []string  // upper-case patterns
	prov  []uint32  // providers each pattern points to
	accts [][]int32 // accounts whose payouts carry each pattern as descriptor
	ref   []bool    // some payout carries the pattern as its reference
	next  []int32   // the next pattern under the same key, -1 at the end
	named keyset    // keywords, not-processor texts and descriptors
	refd  keyset    // patterns first registered as references
	hits  []int32   // arena of per-line hits: accounts, then reference patterns
	refs  []int32   // scratch: reference patterns of the line being scanned
}

// keyset maps key hashes to the first pattern of their chain, behind a bit set.
type keyset struct {
	first map[uint64]int32
	bits  []uint64 // key hashes present, one bit each
	mask  uint64   // len(bits)*64 - 1
}

// newKeyset sizes a keyset for about n keys: 16 bits of the set per key keep
// false positives to a few percent (more keys only make it slower, never wrong).
func newKeyset(n int) keyset {
	bits := uint64(1024)
	for bits < uint64(n)*16 && bits < 1<<26 {
		bits <<= 1
	}
	return keyset{first: make(map[uint64]int32, n), bits: make([]uint64, bits/64), mask: bits - 1}
}

func (ks *keyset) maybe(h uint64) bool {
	b := h & ks.mask
	return ks.bits[b>>6]&(1<<(b&63)) != 0
}

// head is the first pattern under key k, -1 if none.
func (ks *keyset) head(k uint64) int32 {
	if !ks.maybe(k) {
		return -1
	}
	if id, ok := ks.first[k]; ok {
		return id
	}
	return -1
}

func (ks *keyset) push(k uint64, id int32) {
	ks.first[k] = id
	b := k & ks.mask
	ks.bits[b>>6] |= 1 << (b & 63)
}

// wordHash hashes an alphanumeric word regardless of ASCII case, 8 bytes at a
// time: c&0xDF maps a letter to its upper case and each digit to a value of its
// own, so "Stripe" and "STRIPE" hash alike and no two words differ only there.
func wordHash(s string) uint64 {
	const fold = 0xDFDFDFDFDFDFDFDF
	h := uint64(len(s))
	for ; len(s) >= 8; s = s[8:] {
		v := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = bits.RotateLeft64((h^(v&fold))*0x9E3779B97F4A7C15, 27)
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		v |= uint64(s[i]) << (8 * i)
	}
	return mix64(h ^ (v & fold))
}

// pairHash is the key of two adjacent words.
func pairHash(a, b uint64) uint64 { return mix64(a*0x9E3779B97F4A7C15 ^ b) }

// mix64 is the splitmix64 finalizer: every input bit reaches the low bits the
// bit set uses.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newPatIndex sizes the index for about named keywords and descriptors and
// refs references.
func newPatIndex(named, refs int) patIndex {
	return patIndex{named: newKeyset(named), refd: newKeyset(refs)}
}

// add registers a pattern (3+ characters) for providers mask and, if acct >= 0,
// as that account's descriptor (ref: as a payout reference). It returns the
// pattern's ID, -1 if too short.
func (x *patIndex) add(s string, mask uint32, acct int32, ref bool) int32 {
	s = strings.ToUpper(strings.TrimSpace(s))
	w1, w2, ok := patKey(s)
	if len(s) < 3 || !ok {
		return -1
	}
	k := wordHash(w1)
	if w2 != "" {
		k = pairHash(k, wordHash(w2))
	}
	id := x.named.head(k)
	for id >= 0 && x.text[id] != s {
		id = x.next[id]
	}
	if id < 0 {
		id = x.refd.head(k)
		for id >= 0 && x.text[id] != s {
			id = x.next[id]
		}
	}
	if id < 0 {
		ks := &x.named
		if ref {
			ks = &x.refd
		}
		id = int32(len(x.text))
		x.text = append(x.text, s)
		x.prov = append(x.prov, 0)
		x.accts = append(x.accts, nil)
		x.ref = append(x.ref, false)
		x.next = append(x.next, ks.head(k))
		ks.push(k, id)
	}
	x.ref[id] = x.ref[id] || ref
	x.prov[id] |= mask
	if acct >= 0 && !slices.Contains(x.accts[id], acct) {
		x.accts[id] = append(x.accts[id], acct)
	}
	return id
}

// addRef registers a payout reference (4+ characters) and returns its pattern
// ID (-1 if unusable).
func (x *patIndex) addRef(s string) int32 {
	if len(strings.TrimSpace(s)) < 4 {
		return -1
	}
	return x.add(s, 0, -1, true)
}

func isAlnum(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
}

// patKey returns a pattern's first two words (w2 empty if it has one).
func patKey(s string) (w1, w2 string, ok bool) {
	var w [2]string
	n := 0
	for i := 0; i < len(s) && n < 2; {
		for i < len(s) && !isAlnum(s[i]) {
			i++
		}
		j := i
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		if j > i {
			w[n] = s[i:j]
			n++
		}
		i = j
	}
	return w[0], w[1], n > 0
}

// scan reads a line's texts once and returns the providers named on it, and
// where its hits start in x.hits: n accounts whose descriptors appear on it,
// then nRef reference patterns.
func (x *patIndex) scan(name, desc, merch, cps string) (hint uint32, off int32, n, nRef uint8) {
	off = int32(len(x.hits))
	if len(x.text) == 0 {
		return 0, off, 0, 0
	}
	x.refs = x.refs[:0]
	hint = x.field(name, off) | x.field(desc, off)
	// Plaid's merchant name and counterparties say who the money is from: one
	// that is not a provider makes the line someone else's.
	party := func(c string) {
		if strings.TrimSpace(c) == "" {
			return
		}
		h := x.field(c, off)
		if h&^notProcessor == 0 {
			h |= notProcessor
		}
		hint |= h
	}
	party(merch)
	for cps != "" {
		c := cps
		if i := strings.IndexByte(cps, 0); i >= 0 {
			c, cps = cps[:i], cps[i+1:]
		} else {
			cps = ""
		}
		party(c)
	}
	if hint&^notProcessor != 0 {
		hint &^= notProcessor // a provider named anywhere wins
	}
	n = uint8(len(x.hits) - int(off))
	x.hits = append(x.hits, x.refs...)
	return hint, off, n, uint8(len(x.refs))
}

// field looks every word and every pair of adjacent words of s up, and
// verifies each candidate pattern against s.
func (x *patIndex) field(s string, off int32) uint32 {
	var h uint32
	prev := uint64(0) // hash of the previous word, 0 if none
	for i := 0; i < len(s); {
		for i < len(s) && !isAlnum(s[i]) {
			i++
		}
		j := i
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		if j == i {
			break
		}
		if j-i > 48 { // no key word is this long, and it breaks the pair
			prev, i = 0, j
			continue
		}
		k := wordHash(s[i:j])
		h |= x.lookup(s, x.named.head(k), off) | x.lookup(s, x.refd.head(k), off)
		if prev != 0 {
			k2 := pairHash(prev, k)
			h |= x.lookup(s, x.named.head(k2), off) | x.lookup(s, x.refd.head(k2), off)
		}
		prev, i = k, j
	}
	return h
}

// lookup verifies the patterns of the chain starting at id against s.
func (x *patIndex) lookup(s string, id int32, off int32) uint32 {
	var h uint32
	for ; id >= 0; id = x.next[id] {
		if !containsFold(s, x.text[id]) {
			continue
		}
		h |= x.prov[id]
		for _, a := range x.accts[id] {
			if !slices.Contains(x.hits[off:], a) && len(x.hits)-int(off) < 255 {
				x.hits = append(x.hits, a)
			}
		}
		if x.ref[id] && !slices.Contains(x.refs, id) && len(x.refs) < 255 {
			x.refs = append(x.refs, id)
		}
	}
	return h
}

// release drops everything but the hits once every line is scanned.
func (x *patIndex) release() {
	hits := x.hits
	*x = patIndex{hits: hits}
}

// containsFold is an ASCII case-insensitive strings.Contains that does not allocate.
func containsFold(s, sub string) bool {
	n := len(sub)
	if n == 0 || n > len(s) {
		return false
	}
	first := lower(sub[0])
	for i := 0; i+n <= len(s); i++ {
		if lower(s[i]) != first {
			continue
		}
		j := 1
		for j < n && lower(s[i+j]) == lower(sub[j]) {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ev is the evidence that line l is payout p's deposit, or -1 when the line
// names someone else: another provider, another account's descriptor, or a
// non-processor (then it is not a candidate at all).
func (m *matcher) ev(l *lrec, p *prec) int8 {
	if l.hint == notProcessor {
		return -1
	}
	if l.hint != 0 && (p.prov < 0 || l.hint&(1<<p.prov) == 0) {
		return -1
	}
	if l.refLen > 0 && p.ref >= 0 {
		at := l.hitOff + int32(l.hitLen)
		if slices.Contains(m.pat.hits[at:at+int32(l.refLen)], p.ref) {
			return EvidenceReference
		}
	}
	if l.hitLen > 0 {
		if slices.Contains(m.pat.hits[l.hitOff:l.hitOff+int32(l.hitLen)], p.acct) {
			return EvidenceDescriptor
		}
		return -1
	}
	if l.hint != 0 {
		return EvidenceProvider
	}
	return EvidenceNone
}

func (m *matcher) lineID(li int32) string   { return m.t.lineID(m.lines[li].i) }
func (m *matcher) payoutID(pi int32) string { return m.t.payoutID(m.pays[pi].i) }

// head is what matches and messages show of a line or payout.
type head struct {
	ID       string
	Amount   int64
	Currency string
	Date     Date // posting date of a line, arrival date of a payout
}

// lineHead and payHead take table indexes (lrec.i, prec.i).
func (m *matcher) lineHead(i int32) head {
	l := &m.t.lines[i]
	return head{ID: m.t.lineID(i), Amount: l.amt, Currency: m.t.strs[l.cur], Date: l.date}
}

func (m *matcher) payHead(i int32) head {
	p := &m.t.pays[i]
	return head{ID: m.t.payoutID(i), Amount: p.amt, Currency: m.t.strs[p.cur], Date: p.date}
}

func cmpKey(a, b key) int {
	switch {
	case a.cur != b.cur:
		return cmp.Compare(a.cur, b.cur)
	case a.amt != b.amt:
		return cmp.Compare(a.amt, b.amt)
	}
	return cmp.Compare(a.ord, b.ord)
}

// index sorts lines and payouts by (currency, amount, day) and walks both lists
// together: candidates share currency and amount, so each (currency, amount)
// group is searched on its own, by day, from both sides. Each side keeps at most
// MaxCandidates candidates per node and flags the node when there are more.
func (m *matcher) index() {
	m.lkeys = make([]key, len(m.lines))
	for i, l := range m.lines {
		m.lkeys[i] = key{cur: l.cur, ord: l.ord, amt: l.amt, i: int32(i)}
	}
	scratch := sortKeys(m.lkeys, m.lineID, nil)
	m.pkeys = make([]key, len(m.pays))
	for i, p := range m.pays {
		m.pkeys[i] = key{cur: p.cur, ord: p.ord, amt: p.amt, i: int32(i)}
	}
	sortKeys(m.pkeys, m.payoutID, scratch)
	// Two passes over the (currency, amount) groups: count each node's
	// candidates, then fill them in place, so no edge is stored twice.
	m.lOff = make([]int32, len(m.lines)+1)
	m.pOff = make([]int32, len(m.pays)+1)
	m.joinGroups(func(from int32, side int, to int32, diff int16, ev int8) {
		if side == 0 {
			m.lOff[from+1]++
		} else {
			m.pOff[from+1]++
		}
	})
	// Counts sit at off[i+1]; make off[i] the start of node i, fill with
	// off[from]++ (which leaves off[i] at the end of node i), then shift back.
	for i := 1; i < len(m.lOff); i++ {
		m.lOff[i] += m.lOff[i-1]
	}
	for i := 1; i < len(m.pOff); i++ {
		m.pOff[i] += m.pOff[i-1]
	}
	m.lEdges = make([]edge, m.lOff[len(m.lines)])
	m.pEdges = make([]edge, m.pOff[len(m.pays)])
	m.res.Stats.OverflowLines, m.res.Stats.Overflows = 0, 0
	m.joinGroups(func(from int32, side int, to int32, diff int16, ev int8) {
		if side == 0 {
			m.lEdges[m.lOff[from]] = edge{to: to, diff: diff, ev: ev}
			m.lOff[from]++
		} else {
			m.pEdges[m.pOff[from]] = edge{to: to, diff: diff, ev: ev}
			m.pOff[from]++
		}
	})
	copy(m.lOff[1:], m.lOff[:len(m.lines)])
	m.lOff[0] = 0
	copy(m.pOff[1:], m.pOff[:len(m.pays)])
	m.pOff[0] = 0
	m.lsum = make([]summ, len(m.lines))
	m.psum = make([]summ, len(m.pays))
}

// joinGroups walks the sorted line and payout keys together and calls emit for
// every candidate inside the window: side 0 from a line (to a payout), side 1
// from a payout (to a line), at most MaxCandidates per node (more flags it).
func (m *matcher) joinGroups(emit func(from int32, side int, to int32, diff int16, ev int8)) {
	before, after := int32(m.cfg.Before), int32(m.cfg.After)
	maxC := m.cfg.MaxCandidates
	lk, pk := m.lkeys, m.pkeys
	for i, j := 0, 0; i < len(lk) && j < len(pk); {
		a, b := lk[i], pk[j]
		if a.cur != b.cur || a.amt != b.amt {
			if a.cur < b.cur || (a.cur == b.cur && a.amt < b.amt) {
				i++
			} else {
				j++
			}
			continue
		}
		i2, j2 := i+1, j+1
		for i2 < len(lk) && lk[i2].cur == a.cur && lk[i2].amt == a.amt {
			i2++
		}
		for j2 < len(pk) && pk[j2].cur == a.cur && pk[j2].amt == a.amt {
			j2++
		}
		L, P := lk[i:i2], pk[j:j2]
		if len(L) == 1 && len(P) == 1 { // most amounts are unique: one pair, one evidence
			x, y := L[0], P[0]
			if x.ord-y.ord <= after && y.ord-x.ord <= before {
				if e := m.ev(&m.lines[x.i], &m.pays[y.i]); e >= 0 {
					emit(x.i, 0, y.i, int16(x.ord-y.ord), e)
					emit(y.i, 1, x.i, int16(x.ord-y.ord), e)
				}
			}
			i, j = i2, j2
			continue
		}
		for _, x := range L {
			l := &m.lines[x.i]
			n := 0
			for k := ordBound(P, x.ord-after); k < len(P) && P[k].ord <= x.ord+before; k++ {
				e := m.ev(l, &m.pays[P[k].i])
				if e < 0 {
					continue
				}
				if n == maxC {
					l.flags |= fOverflow
					m.res.Stats.OverflowLines++
					break
				}
				emit(x.i, 0, P[k].i, int16(x.ord-P[k].ord), e)
				n++
			}
		}
		for _, y := range P {
			p := &m.pays[y.i]
			n := 0
			for k := ordBound(L, y.ord-before); k < len(L) && L[k].ord <= y.ord+after; k++ {
				e := m.ev(&m.lines[L[k].i], p)
				if e < 0 {
					continue
				}
				if n == maxC {
					p.flags |= fOverflow
					m.res.Stats.Overflows++
					break
				}
				emit(y.i, 1, L[k].i, int16(L[k].ord-y.ord), e)
				n++
			}
		}
		i, j = i2, j2
	}
}

// ordBound is the first index of keys (one currency and amount, sorted by day)
// whose day is >= ord.
func ordBound(keys []key, ord int32) int {
	lo, hi := 0, len(keys)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if keys[mid].ord < ord {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// lowerBound is the first index whose key is >= k in cmpKey order.
func lowerBound(keys []key, k key) int {
	lo, hi := 0, len(keys)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		x := &keys[mid]
		if x.cur < k.cur || (x.cur == k.cur && (x.amt < k.amt || (x.amt == k.amt && x.ord < k.ord))) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// release drops the working arrays before finish allocates the result, so
// the collector can reuse their memory for it.
func (m *matcher) release() {
	m.lines, m.pays, m.fails, m.pat = nil, nil, nil, patIndex{}
	m.lkeys, m.pkeys, m.lOff, m.pOff, m.lEdges, m.pEdges, m.lsum, m.psum = nil, nil, nil, nil, nil, nil, nil, nil
	m.groupAmbig, m.acc, m.claims, m.garena, m.gsols, m.gtent, m.gorder = nil, nil, nil, nil, nil, nil, nil
}

func (m *matcher) lineEdges(li int32) []edge  { return m.lEdges[m.lOff[li]:m.lOff[li+1]] }
func (m *matcher) payEdges(pi int32) []edge   { return m.pEdges[m.pOff[pi]:m.pOff[pi+1]] }
func (m *matcher) lineLive(li int32) bool     { return m.lines[li].flags&fDone == 0 }
func (m *matcher) payLive(pi int32) bool      { return m.pays[pi].flags&fDone == 0 }
func (m *matcher) linePassed(l *lrec) bool    { return m.today > l.ord+int32(m.cfg.After) }
func (m *matcher) payPassed(p *prec) bool     { return m.today > p.ord+int32(m.cfg.After) }
func (m *matcher) lineEarlyDone(l *lrec) bool { return m.today > l.ord+int32(m.cfg.Before) }

// summarise computes a node's best evidence over its live edges, how many
// candidates share it, and how many of those are on the exact date.
func summarise(es []edge, live func(int32) bool) summ {
	s := summ{best: -1, bestTo: -1, exactTo: -1}
	for _, e := range es {
		if !live(e.to) {
			continue
		}
		switch {
		case e.ev > s.best:
			s.best, s.nBest, s.bestTo, s.nExact, s.exactTo = e.ev, 1, e.to, 0, -1
		case e.ev == s.best:
			s.nBest = min(s.nBest+1, 255)
		default:
			continue
		}
		if e.diff == 0 {
			s.nExact = min(s.nExact+1, 255)
			s.exactTo = e.to
		}
	}
	return s
}

type pair struct {
	l, p  int32
	exact bool // decided by the exact-date rule, else by evidence
	ev    int8
}

// singles runs one round of one-to-one pairing and returns how many pairs it
// settled. weak allows evidence-0 pairs (only once both windows have passed).
func (m *matcher) singles(weak bool) int {
	m.res.Stats.Rounds++
	liveL, liveP := m.lineLive, m.payLive
	for li := range m.lines {
		if m.lines[li].flags&fDone == 0 && m.lOff[li] != m.lOff[li+1] {
			m.lsum[li] = summarise(m.lineEdges(int32(li)), liveP)
		}
		if weak {
			m.lines[li].flags &^= fDeferred
		}
	}
	for pi := range m.pays {
		if m.pays[pi].flags&fDone == 0 && m.pOff[pi] != m.pOff[pi+1] {
			m.psum[pi] = summarise(m.payEdges(int32(pi)), liveL)
		}
		if weak {
			m.pays[pi].flags &^= fDeferred
		}
	}
	acc := m.acc[:0]
	for li := range m.lines {
		l := &m.lines[li]
		if l.flags&(fDone|fOverflow) != 0 || m.lOff[li] == m.lOff[li+1] {
			continue
		}
		ls := m.lsum[li]
		if ls.nBest == 0 {
			continue
		}
		pr, ok := m.decide(int32(li), ls)
		if !ok || l.bev >= pr.ev || m.pays[pr.p].bev >= pr.ev {
			continue
		}
		if pr.ev < EvidenceProvider {
			if !weak {
				continue
			}
			p := &m.pays[pr.p]
			if !m.payPassed(p) || !m.lineEarlyDone(l) {
				l.flags |= fDeferred
				p.flags |= fDeferred
				continue
			}
		}
		acc = append(acc, pr)
	}
	var one [1]int32
	for _, pr := range acc {
		one[0] = pr.p
		rule := ruleFor(pr.ev)
		if pr.exact {
			rule = "exact_date"
		}
		m.claim(pr.l, one[:], KindSingle, rule, pr.ev)
	}
	m.acc = acc
	return len(acc)
}

// decide applies rule 4: a mutual unique best by evidence, else a safe exact date.
func (m *matcher) decide(li int32, ls summ) (pair, bool) {
	if ls.nBest == 1 {
		p := ls.bestTo
		ps := m.psum[p]
		if m.pays[p].flags&fOverflow == 0 && ps.nBest == 1 && ps.bestTo == li && ps.best == ls.best {
			return pair{l: li, p: p, ev: ls.best}, true
		}
	}
	if ls.nExact != 1 {
		return pair{}, false
	}
	p := ls.exactTo
	ps := m.psum[p]
	if m.pays[p].flags&fOverflow != 0 || ps.best != ls.best || ps.nExact != 1 || ps.exactTo != li {
		return pair{}, false
	}
	// Every other best candidate on either side must have an exact partner of its
	// own; otherwise a delayed item could be the true partner and we would guess.
	for _, e := range m.lineEdges(li) {
		if e.to == p || e.ev != ls.best || !m.payLive(e.to) {
			continue
		}
		o := &m.pays[e.to]
		if o.flags&fOverflow != 0 {
			return pair{}, false
		}
		if os := m.psum[e.to]; e.ev == os.best && os.nExact == 0 {
			return pair{}, false
		}
	}
	for _, e := range m.payEdges(p) {
		if e.to == li || e.ev != ps.best || !m.lineLive(e.to) {
			continue
		}
		o := &m.lines[e.to]
		if o.flags&fOverflow != 0 {
			return pair{}, false
		}
		if os := m.lsum[e.to]; e.ev == os.best && os.nExact == 0 {
			return pair{}, false
		}
	}
	return pair{l: li, p: p, exact: true, ev: ls.best}, true
}

func ruleFor(ev int8) string {
	switch ev {
	case EvidenceReference:
		return "reference"
	case EvidenceDescriptor:
		return "descriptor"
	case EvidenceProvider:
		return "provider"
	}
	return "amount_date"
}

// claim settles a line with its payouts: a match when every payout is paid and
// itemised, otherwise an exception or a wait. Either way the pairing is taken,
// so nobody else can take these items in this run.
func (m *matcher) claim(li int32, ps []int32, kind, rule string, ev int8) {
	l := &m.lines[li]
	l.flags |= fDone
	waiting, incomplete := false, false
	for _, pi := range ps {
		p := &m.pays[pi]
		p.flags |= fDone
		switch {
		case p.status == stOpen:
			waiting = true
		case p.items == itIncomplete:
			incomplete = true
		case p.items == itPending:
			if m.payPassed(p) {
				incomplete = true
			} else {
				waiting = true
			}
		}
	}
	if !incomplete && !waiting {
		// The common case allocates nothing: matches are kept as indices and
		// turned into IDs once, in finish.
		off := int32(len(m.marena))
		for _, pi := range ps {
			m.marena = append(m.marena, m.pays[pi].i)
		}
		tl := &m.t.lines[l.i]
		m.mrecs = append(m.mrecs, mrec{amt: tl.amt, date: tl.date, line: l.i, line2: -1, pOff: off, pLen: int32(len(ps)), kind: code(kinds, kind), rule: code(rules, rule), ev: ev})
		return
	}
	pids := make([]string, len(ps))
	for i, pi := range ps {
		pids[i] = m.payoutID(pi)
	}
	slices.Sort(pids)
	bl := m.lineHead(l.i)
	switch {
	case incomplete:
		m.except(ReasonItemisationIncomplete, []string{bl.ID}, pids, bl.Amount, bl.Currency, bl.Date,
			fmt.Sprintf("%s on %s pairs with %s, but the payout's items do not add up to its amount yet; matched once the itemisation is complete",
				amountText(bl.Amount, bl.Currency), bl.Date, strings.Join(pids, ", ")))
		l.flags |= fExplained
		for _, pi := range ps {
			m.pays[pi].flags |= fExplained
		}
	case waiting:
		m.res.Waiting.LineIDs = append(m.res.Waiting.LineIDs, bl.ID)
		m.res.Waiting.PayoutIDs = append(m.res.Waiting.PayoutIDs, pids...)
		l.flags |= fWaiting
		for _, pi := range ps {
			m.pays[pi].flags |= fWaiting
		}
	}
}

// mrec is a match as indices into the input: line, line2 (returned only, else
// -1), and payouts marena[pOff:pOff+pLen].
type mrec struct {
	amt         int64 // the line's amount and date, for the final sort
	date        Date
	line, line2 int32
	pOff, pLen  int32
	kind, rule  uint8 // indexes into kinds and rules
	ev          int8
}

var (
	kinds = []string{KindSingle, KindBatch, KindReturned}
	rules = []string{"reference", "descriptor", "provider", "amount_date", "exact_date", "subset", "returned"}
)

func code(table []string, s string) uint8 { return uint8(slices.Index(table, s)) }

func amountText(minor int64, cur string) string { return money.Format(minor, cur) + " " + cur }

func (m *matcher) except(reason string, lineIDs, payoutIDs []string, amount int64, cur string, date Date, msg string) {
	slices.Sort(lineIDs)
	slices.Sort(payoutIDs)
	k := reason + ":" + strings.Join(lineIDs, ",") + "|" + strings.Join(payoutIDs, ",")
	if len(k) > 160 {
		sum := sha256.Sum256([]byte(k))
		k = reason + ":" + hex.EncodeToString(sum[:16])
	}
	m.res.Exceptions = append(m.res.Exceptions, Exception{
		Key: k, Reason: reason, LineIDs: lineIDs, PayoutIDs: payoutIDs, Amount: amount, Currency: cur, Date: date, Message: msg,
	})
}

// CheckManual validates a match a person asks for: a posted, unmatched line; one
// or more distinct, unmatched, paid payouts in the line's currency whose amounts
// sum exactly to the line's. Errors are FieldErrors naming the request field.
func CheckManual(line BankLine, pays []payouts.Payout, matchedLines, matchedPayouts map[string]bool) (Match, error) {
	bad := func(field, format string, args ...any) (Match, error) {
		return Match{}, &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
	}
	if line.Pending {
		return bad("bank_transaction_id", "the bank transaction is still pending")
	}
	if matchedLines[line.ID] {
		return bad("bank_transaction_id", "the bank transaction is already matched")
	}
	if len(pays) == 0 || len(pays) > 50 {
		return bad("payout_ids", "give 1 to 50 payouts")
	}
	seen := map[string]bool{}
	var sum int64
	ids := make([]string, 0, len(pays))
	for _, p := range pays {
		switch {
		case seen[p.ID]:
			return bad("payout_ids", "payout %s is listed twice", p.ID)
		case matchedPayouts[p.ID]:
			return bad("payout_ids", "payout %s is already matched", p.ID)
		case p.Status != payouts.StatusPaid:
			return bad("payout_ids", "payout %s is %s, not paid", p.ID, p.Status)
		case p.Currency != line.Currency:
			return bad("payout_ids", "payout %s is in %s, the bank transaction in %s", p.ID, p.Currency, line.Currency)
		}
		seen[p.ID] = true
		sum += bankUnits(&p)
		ids = append(ids, p.ID)
	}
	if sum != line.Amount {
		return bad("payout_ids", "the payouts sum to %s but the bank transaction is %s",
			amountText(sum, line.Currency), amountText(line.Amount, line.Currency))
	}
	slices.Sort(ids)
	return Match{Kind: KindManual, LineIDs: []string{line.ID}, PayoutIDs: ids, Amount: line.Amount,
		Currency: line.Currency, Date: line.Date, Rule: "manual"}, nil
}
