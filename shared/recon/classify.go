package recon

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// classify explains everything left after pairing: waits, ambiguity clusters,
// near misses, currency problems and plain unmatched items.
func (m *matcher) classify() {
	nL := int32(len(m.lines))
	// Weak pairs still waiting for their windows.
	for li := range m.lines {
		l := &m.lines[li]
		if l.flags&(fDone|fDeferred) == fDeferred {
			l.flags |= fDone | fWaiting
			m.res.Waiting.LineIDs = append(m.res.Waiting.LineIDs, m.lineID(int32(li)))
		}
	}
	for pi := range m.pays {
		p := &m.pays[pi]
		if p.flags&(fDone|fDeferred) == fDeferred {
			p.flags |= fDone | fWaiting
			m.res.Waiting.PayoutIDs = append(m.res.Waiting.PayoutIDs, m.payoutID(int32(pi)))
		}
	}

	// Ambiguity clusters: connected components of the remaining candidate graph.
	parent := map[int32]int32{}
	find := func(x int32) int32 {
		if _, ok := parent[x]; !ok {
			parent[x] = x
		}
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	union := func(a, b int32) {
		ra, rb := find(a), find(b)
		if ra != rb {
			if ra > rb {
				ra, rb = rb, ra
			}
			parent[rb] = ra
		}
	}
	for li := range m.lines {
		if !m.lineLive(int32(li)) {
			continue
		}
		for _, e := range m.lineEdges(int32(li)) {
			if m.payLive(e.to) {
				union(int32(li), nL+e.to)
			}
		}
	}
	for pi := range m.pays {
		if !m.payLive(int32(pi)) {
			continue
		}
		for _, e := range m.payEdges(int32(pi)) {
			if m.lineLive(e.to) {
				union(e.to, nL+int32(pi))
			}
		}
	}
	for li, ps := range m.groupAmbig { // map order does not matter: union is order-free
		if !m.lineLive(li) {
			continue
		}
		for _, pi := range ps {
			if m.payLive(pi) {
				union(li, nL+pi)
			}
		}
	}
	if len(parent) > 0 {
		nodes := make([]int32, 0, len(parent))
		for x := range parent {
			nodes = append(nodes, x)
		}
		roots := make(map[int32]int32, len(nodes))
		for _, x := range nodes {
			roots[x] = find(x)
		}
		slices.SortFunc(nodes, func(a, b int32) int {
			if c := cmp.Compare(roots[a], roots[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		for i := 0; i < len(nodes); {
			j := i + 1
			for j < len(nodes) && roots[nodes[j]] == roots[nodes[i]] {
				j++
			}
			var ls, ps []int32
			for _, x := range nodes[i:j] {
				if x < nL {
					ls = append(ls, x)
				} else {
					ps = append(ps, x-nL)
				}
			}
			i = j
			if len(ls) == 0 || len(ps) == 0 {
				continue
			}
			m.ambiguous(ls, ps)
		}
	}

	// Payouts whose items do not add up are reported whatever else happens.
	for pi := range m.pays {
		p := &m.pays[pi]
		if p.flags&fDone == 0 && p.items == itIncomplete {
			po := m.payHead(p.i)
			m.except(ReasonItemisationIncomplete, nil, []string{po.ID}, po.Amount, po.Currency, m.arrival(p),
				fmt.Sprintf("payout %s of %s: its items do not add up to its amount; refetch its balance transactions",
					po.ID, amountText(po.Amount, po.Currency)))
		}
	}

	// Indexes of what is left, for the near-equal and currency checks.
	var leftL, procL, leftP []int32
	for li := range m.lines {
		l := &m.lines[li]
		if l.flags&(fDone|fExplained|fWaiting) == 0 {
			if l.hint == notProcessor {
				// Someone else's line: no evidence for any payout, so never near
				// one nor unmatched; most bank activity ends here.
				m.res.Stats.Unrelated++
				continue
			}
			leftL = append(leftL, int32(li))
			if l.hint&^notProcessor != 0 {
				procL = append(procL, int32(li))
			}
		}
	}
	for pi := range m.pays {
		if m.pays[pi].flags&(fDone|fExplained|fWaiting) == 0 {
			leftP = append(leftP, int32(pi))
		}
	}
	byDayAmt := func(cur, ord func(int32) int32, amt func(int32) int64) func(a, b int32) int {
		return func(a, b int32) int {
			if c := cmp.Compare(cur(a), cur(b)); c != 0 {
				return c
			}
			if c := cmp.Compare(ord(a), ord(b)); c != 0 {
				return c
			}
			if c := cmp.Compare(amt(a), amt(b)); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		}
	}
	lc, lo, la := func(i int32) int32 { return m.lines[i].cur }, func(i int32) int32 { return m.lines[i].ord }, func(i int32) int64 { return m.lines[i].amt }
	pc, po, pa := func(i int32) int32 { return m.pays[i].cur }, func(i int32) int32 { return m.pays[i].ord }, func(i int32) int64 { return m.pays[i].amt }
	slices.SortFunc(leftL, byDayAmt(lc, lo, la))
	slices.SortFunc(leftP, byDayAmt(pc, po, pa))
	slices.SortFunc(procL, func(a, b int32) int {
		if c := cmp.Compare(m.lines[a].ord, m.lines[b].ord); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	// inRange returns the items of a (cur, ord, amt)-sorted list with this
	// currency, day and amount in [lo, hi].
	inRange := func(list []int32, cur, ord func(int32) int32, amt func(int32) int64, c, d int32, lo, hi int64) []int32 {
		i, _ := slices.BinarySearchFunc(list, [3]int64{int64(c), int64(d), lo}, func(x int32, t [3]int64) int {
			if r := cmp.Compare(int64(cur(x)), t[0]); r != 0 {
				return r
			}
			if r := cmp.Compare(int64(ord(x)), t[1]); r != 0 {
				return r
			}
			return cmp.Compare(amt(x), t[2])
		})
		j := i
		for j < len(list) && cur(list[j]) == c && ord(list[j]) == d && amt(list[j]) <= hi {
			j++
		}
		return list[i:j]
	}
	before, after := int32(m.cfg.Before), int32(m.cfg.After)

	// 1. Payouts in a currency no bank account holds (unknown when there is no bank data).
	for _, pi := range leftP {
		p := &m.pays[pi]
		if p.status != stPaid || len(m.bankCurs) == 0 || m.bankCurs[p.cur] || !m.payPassed(p) {
			continue
		}
		var ls []string
		k, _ := slices.BinarySearchFunc(procL, p.ord-before, func(x int32, d int32) int { return cmp.Compare(m.lines[x].ord, d) })
		for ; k < len(procL) && m.lines[procL[k]].ord <= p.ord+after; k++ {
			l := &m.lines[procL[k]]
			// Only lines naming this payout's account: a bare "STRIPE" could be
			// any account's deposit.
			if l.cur != p.cur && (l.amt < 0) == (p.amt < 0) && m.ev(l, p) >= EvidenceDescriptor && len(ls) < 10 {
				ls = append(ls, m.lineID(procL[k]))
				l.flags |= fExplained
			}
		}
		p.flags |= fExplained
		po := m.payHead(p.i)
		m.except(ReasonCurrencyMismatch, ls, []string{po.ID}, po.Amount, po.Currency, m.arrival(p),
			fmt.Sprintf("payout %s of %s: no bank account in %s; %d deposit(s) from the provider in other currencies around its arrival date (converted by the bank?)",
				po.ID, amountText(po.Amount, po.Currency), po.Currency, len(ls)))
	}

	// 2. Lines: near misses, then unexplained processor deposits.
	for _, li := range leftL {
		l := &m.lines[li]
		if l.flags&(fExplained|fWaiting) != 0 {
			continue
		}
		bl := m.lineHead(l.i)
		if !m.linePassed(l) {
			if l.hint&^notProcessor != 0 {
				l.flags |= fWaiting
				m.res.Waiting.LineIDs = append(m.res.Waiting.LineIDs, bl.ID)
			} else {
				m.res.Stats.Unrelated++
			}
			continue
		}
		a := abs(l.amt)
		r := max(m.cfg.NearMinor, a*m.cfg.NearBasisPoints/(10000-m.cfg.NearBasisPoints)+1)
		var near []int32
		// A line that names no provider is near only a payout whose descriptor or
		// reference it shows (the test below).
		lo, hi := l.ord-after, l.ord+before
		if l.hint == 0 && l.hitLen == 0 && l.refLen == 0 {
			lo, hi = 1, 0
		}
		for d := lo; d <= hi; d++ {
			for _, pi := range inRange(leftP, pc, po, pa, l.cur, d, l.amt-r, l.amt+r) {
				p := &m.pays[pi]
				diff := abs(p.amt - l.amt)
				if diff == 0 || (p.amt < 0) != (l.amt < 0) || diff > m.tolerance(p.amt) {
					continue
				}
				if e := m.ev(l, p); e >= EvidenceDescriptor || (e >= 0 && l.hint&^notProcessor != 0) {
					near = append(near, pi)
				}
			}
		}
		switch {
		case len(near) > 0:
			ids := make([]string, len(near))
			for i, pi := range near {
				ids[i] = m.payoutID(pi)
				m.pays[pi].flags |= fExplained
			}
			l.flags |= fExplained
			m.except(ReasonAmountMismatch, []string{bl.ID}, ids, bl.Amount, bl.Currency, bl.Date,
				fmt.Sprintf("%s on %s is close to but not equal to payout(s) %s (%s); check for bank fees or a partial return",
					amountText(bl.Amount, bl.Currency), bl.Date, strings.Join(ids, ", "), m.amounts(near)))
		case l.hint&^notProcessor != 0:
			f, waiting := m.failedTwin(l)
			if waiting {
				l.flags |= fWaiting
				m.res.Waiting.LineIDs = append(m.res.Waiting.LineIDs, bl.ID)
				continue
			}
			msg := fmt.Sprintf("%s on %s looks like a %s deposit but no payout explains it", amountText(bl.Amount, bl.Currency), bl.Date, m.hintNames(l.hint))
			if f != "" {
				msg += fmt.Sprintf("; it equals failed payout %s, whose bank return has not appeared", f)
			}
			l.flags |= fExplained
			m.except(ReasonUnmatchedDeposit, []string{bl.ID}, nil, bl.Amount, bl.Currency, bl.Date, msg)
		default:
			m.res.Stats.Unrelated++
		}
	}

	// 3. Payouts: near misses, then unmatched.
	for _, pi := range leftP {
		p := &m.pays[pi]
		if p.flags&(fExplained|fWaiting) != 0 {
			continue
		}
		po := m.payHead(p.i)
		if p.status == stOpen || !m.payPassed(p) {
			p.flags |= fWaiting
			m.res.Waiting.PayoutIDs = append(m.res.Waiting.PayoutIDs, po.ID)
			continue
		}
		t := m.tolerance(p.amt)
		var near []string
		for d := p.ord - before; d <= p.ord+after; d++ {
			for _, li := range inRange(leftL, lc, lo, la, p.cur, d, p.amt-t, p.amt+t) {
				l := &m.lines[li]
				if l.amt != p.amt && (l.amt < 0) == (p.amt < 0) && l.flags&fWaiting == 0 && m.ev(l, p) >= 0 {
					near = append(near, m.lineID(li))
				}
			}
		}
		p.flags |= fExplained
		if len(near) > 0 {
			m.except(ReasonAmountMismatch, near, []string{po.ID}, po.Amount, po.Currency, m.arrival(p),
				fmt.Sprintf("payout %s of %s has no deposit of that amount; %d bank line(s) around its arrival date are close", po.ID, amountText(po.Amount, po.Currency), len(near)))
			continue
		}
		m.except(ReasonUnmatchedPayout, nil, []string{po.ID}, po.Amount, po.Currency, m.arrival(p),
			fmt.Sprintf("payout %s of %s expected on %s has no bank line of that amount within %d business days",
				po.ID, amountText(po.Amount, po.Currency), po.Date, m.cfg.After))
	}
	for fi := range m.fails {
		if m.fails[fi].flags&fDone == 0 {
			m.res.Stats.FailedPayouts++
		}
	}
	m.itemisationIssues()
}

// ambiguous reports one cluster of lines and payouts that cannot be told apart.
func (m *matcher) ambiguous(ls, ps []int32) {
	lids := make([]string, len(ls))
	for i, li := range ls {
		lids[i] = m.lineID(li)
		m.lines[li].flags |= fExplained | fDone
	}
	pids := make([]string, len(ps))
	for i, pi := range ps {
		pids[i] = m.payoutID(pi)
		m.pays[pi].flags |= fExplained | fDone
	}
	slices.Sort(lids)
	first := slices.IndexFunc(ls, func(li int32) bool { return m.lineID(li) == lids[0] })
	bl := m.lineHead(m.lines[ls[first]].i)
	msg := fmt.Sprintf("%d bank line(s) and %d payout(s) match on amount and date and the evidence cannot tell them apart (%s on %s could be %s); match them by hand",
		len(lids), len(pids), amountText(bl.Amount, bl.Currency), bl.Date, strings.Join(sortedCopy(pids), ", "))
	m.except(ReasonAmbiguous, lids, pids, bl.Amount, bl.Currency, bl.Date, msg)
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	if len(c) > 8 {
		c = append(c[:8], fmt.Sprintf("and %d more", len(s)-8))
	}
	return c
}

// failedTwin finds a failed payout equal to a leftover line; waiting is true while
// its bank return may still post.
func (m *matcher) failedTwin(l *lrec) (string, bool) {
	for fi := range m.fails {
		f := &m.fails[fi]
		if f.flags&fDone != 0 || f.cur != l.cur || f.amt != l.amt ||
			l.ord < f.ord-int32(m.cfg.Before) || l.ord > f.ord+int32(m.cfg.After) || m.ev(l, f) < 0 {
			continue
		}
		return m.t.payoutID(f.i), m.today <= l.ord+int32(m.cfg.ReturnWindow)
	}
	return "", false
}

func (m *matcher) tolerance(amt int64) int64 {
	return max(m.cfg.NearMinor, abs(amt)*m.cfg.NearBasisPoints/10000)
}

func (m *matcher) amounts(ps []int32) string {
	s := make([]string, len(ps))
	for i, pi := range ps {
		po := m.payHead(m.pays[pi].i)
		s[i] = amountText(po.Amount, po.Currency)
	}
	return strings.Join(s, ", ")
}

func (m *matcher) hintNames(h uint32) string {
	var s []string
	for i, p := range m.provs {
		if h&(1<<i) != 0 {
			s = append(s, p)
		}
	}
	return strings.Join(s, "/")
}

func (m *matcher) arrival(p *prec) Date {
	return m.t.pays[p.i].date
}

func abs(a int64) int64 {
	if a < 0 {
		return -a
	}
	return a
}

// finish sorts everything so the same input always gives the same output.
func (m *matcher) finish() {
	r := &m.res
	// Matches by date, amount, then line ID (integer compares first keep the
	// sort cheap); all their IDs share one backing array.
	t := m.t
	slices.SortFunc(m.mrecs, func(a, b mrec) int {
		if a.date != b.date {
			return cmp.Compare(a.date, b.date)
		}
		if a.amt != b.amt {
			return cmp.Compare(a.amt, b.amt)
		}
		return strings.Compare(t.lineID(a.line), t.lineID(b.line))
	})
	n := len(m.marena)
	for _, mr := range m.mrecs {
		n += 1 + boolInt(mr.line2 >= 0)
	}
	ids := make([]string, 0, n)
	r.Matches = make([]Match, len(m.mrecs))
	for i, mr := range m.mrecs {
		bl := &t.lines[mr.line]
		a := len(ids)
		ids = append(ids, t.lineID(mr.line))
		if mr.line2 >= 0 {
			ids = append(ids, t.lineID(mr.line2))
		}
		b := len(ids)
		for _, pi := range m.marena[mr.pOff : mr.pOff+mr.pLen] {
			ids = append(ids, t.payoutID(pi))
		}
		c := len(ids)
		slices.Sort(ids[b:c])
		r.Matches[i] = Match{Kind: kinds[mr.kind], LineIDs: ids[a:b:b], PayoutIDs: ids[b:c:c], Amount: bl.amt,
			Currency: t.strs[bl.cur], Date: bl.date, Rule: rules[mr.rule], Evidence: int(mr.ev)}
		r.Stats.MatchedPayouts += int(mr.pLen)
	}
	m.mrecs, m.marena = nil, nil
	slices.SortFunc(r.Exceptions, func(a, b Exception) int { return strings.Compare(a.Key, b.Key) })
	r.Exceptions = slices.CompactFunc(r.Exceptions, func(a, b Exception) bool { return a.Key == b.Key })
	slices.Sort(r.Waiting.LineIDs)
	r.Waiting.LineIDs = slices.Compact(r.Waiting.LineIDs)
	slices.Sort(r.Waiting.PayoutIDs)
	r.Waiting.PayoutIDs = slices.Compact(r.Waiting.PayoutIDs)
	if r.Matches == nil {
		r.Matches = []Match{}
	}
	if r.Exceptions == nil {
		r.Exceptions = []Exception{}
	}
	r.Stats.Matched = len(r.Matches)
	r.Stats.Exceptions = len(r.Exceptions)
	r.Stats.WaitingLines = len(r.Waiting.LineIDs)
	r.Stats.WaitingPayouts = len(r.Waiting.PayoutIDs)
}
