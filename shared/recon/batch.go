package recon

import (
	"cmp"
	"slices"
	"strings"
)

// groups looks for batched deposits (rule 6) and returns how many it settled.
// It works from the payout side: each (currency, day, provider, account) block
// of open payouts enumerates its subset sums within budget and looks each sum up
// in the sorted line index, so the cost is bounded per block, not per line.
func (m *matcher) groups() int {
	m.groupAmbig = nil
	for i := range m.lines {
		m.lines[i].bev = -1
	}
	for i := range m.pays {
		m.pays[i].bev = -1
	}
	if m.cfg.SubsetMaxSize < 2 || m.cfg.SubsetMaxPayouts < 2 {
		return 0
	}
	if m.gorder == nil {
		// Sorted once per run, on copied keys: the payouts themselves are in
		// input order, and a comparator reaching into them would miss the cache.
		type gkey struct {
			amt                  int64
			cur, ord, prov, acct int32
			i                    int32
		}
		ks := make([]gkey, len(m.pays))
		for i := range m.pays {
			p := &m.pays[i]
			ks[i] = gkey{amt: p.amt, cur: p.cur, ord: p.ord, prov: p.prov, acct: p.acct, i: int32(i)}
		}
		slices.SortFunc(ks, func(a, b gkey) int {
			if a.cur != b.cur {
				return cmp.Compare(a.cur, b.cur)
			}
			if a.ord != b.ord {
				return cmp.Compare(a.ord, b.ord)
			}
			if a.prov != b.prov {
				return cmp.Compare(a.prov, b.prov)
			}
			if a.acct != b.acct {
				return cmp.Compare(a.acct, b.acct)
			}
			if c := cmp.Compare(sign(a.amt), sign(b.amt)); c != 0 {
				return c
			}
			if a.amt != b.amt {
				return cmp.Compare(a.amt, b.amt)
			}
			return strings.Compare(m.payoutID(a.i), m.payoutID(b.i))
		})
		m.gorder = make([]int32, len(ks))
		for i, k := range ks {
			m.gorder[i] = k.i
		}
	}
	g := m.gorder

	arena, sols := m.garena[:0], m.gsols[:0] // reused across rounds
	defer func() { m.garena, m.gsols = arena[:0], sols[:0] }()
	var idx [24]int32
	before, after := int32(m.cfg.Before), int32(m.cfg.After)
	// Blocks too big to search, or whose search ran out of budget: a line that
	// could draw on one of them cannot know its solution is the only one.
	var unsearched []int32 // first payout of each such block

	lookup := func(cur, ord int32, sum int64, subset []int32) {
		m.res.Stats.SubsetSteps++
		for k := lowerBound(m.lkeys, key{cur: cur, amt: sum, ord: ord - before}); k < len(m.lkeys); k++ {
			lk := m.lkeys[k]
			if lk.cur != cur || lk.amt != sum || lk.ord > ord+after {
				return
			}
			if !m.lineLive(lk.i) {
				continue
			}
			l := &m.lines[lk.i]
			ev := int8(127)
			for _, pi := range subset {
				e := m.ev(l, &m.pays[pi])
				ev = min(ev, e)
			}
			if ev < int8(m.cfg.GroupMinEvidence) || ev < 0 {
				continue
			}
			if len(sols) > 0 && sols[len(sols)-1].l == lk.i && int(sols[len(sols)-1].end-sols[len(sols)-1].start) == len(subset) &&
				slices.Equal(arena[sols[len(sols)-1].start:sols[len(sols)-1].end], subset) {
				continue
			}
			start := int32(len(arena))
			arena = append(arena, subset...)
			sols = append(sols, sol{l: lk.i, start: start, end: int32(len(arena)), ev: ev})
		}
	}

	var block []int32
	for s := 0; s < len(g); {
		e := s + 1
		p0 := &m.pays[g[s]]
		for e < len(g) {
			p := &m.pays[g[e]]
			if p.cur != p0.cur || p.ord != p0.ord || p.prov != p0.prov || p.acct != p0.acct || sign(p.amt) != sign(p0.amt) {
				break
			}
			e++
		}
		block = block[:0]
		for _, pi := range g[s:e] {
			if m.payLive(pi) {
				block = append(block, pi)
			}
		}
		s = e
		if len(block) < 2 {
			continue
		}
		if len(block) > m.cfg.SubsetMaxPayouts {
			unsearched = append(unsearched, block[0])
			continue
		}
		maxSize := min(m.cfg.SubsetMaxSize, len(block))
		steps := 0
		var dfs func(start, depth int, sum int64)
		dfs = func(start, depth int, sum int64) {
			for j := start; j < len(block) && steps < m.cfg.SubsetBudget; j++ {
				a := m.pays[block[j]].amt
				next := sum + a
				if (a > 0 && next < sum) || (a < 0 && next > sum) {
					return // overflow: amounts this large are never batched
				}
				idx[depth] = block[j]
				if depth >= 1 {
					steps++
					lookup(p0.cur, p0.ord, next, idx[:depth+1])
				}
				if depth+1 < maxSize {
					dfs(j+1, depth+1, next)
				}
			}
		}
		nSols, nArena := len(sols), len(arena)
		dfs(0, 0, 0)
		if steps >= m.cfg.SubsetBudget {
			sols, arena = sols[:nSols], arena[:nArena]
			unsearched = append(unsearched, block[0])
		}
	}
	if len(sols) == 0 {
		return 0
	}
	m.res.Stats.SubsetHits += len(sols)
	for _, so := range sols {
		l := &m.lines[so.l]
		l.bev = max(l.bev, so.ev)
		for _, pi := range arena[so.start:so.end] {
			m.pays[pi].bev = max(m.pays[pi].bev, so.ev)
		}
	}

	// One solution per line, or the line is ambiguous.
	slices.SortStableFunc(sols, func(a, b sol) int { return cmp.Compare(a.l, b.l) })
	m.groupAmbig = map[int32][]int32{}
	tent := m.gtent[:0]
	defer func() { m.gtent = tent[:0] }()
	if m.claims == nil {
		m.claims = make([]int32, len(m.pays))
	}
	claims := m.claims
	defer func() { // leave the scratch zeroed for the next call
		for _, t := range tent {
			for _, pi := range arena[t.start:t.end] {
				claims[pi] = 0
			}
		}
	}()
	for i := 0; i < len(sols); {
		j := i + 1
		for j < len(sols) && sols[j].l == sols[i].l {
			j++
		}
		if j-i == 1 {
			tent = append(tent, sols[i])
			for _, pi := range arena[sols[i].start:sols[i].end] {
				claims[pi]++
			}
		} else {
			var all []int32
			for _, s := range sols[i:j] {
				all = append(all, arena[s.start:s.end]...)
			}
			slices.Sort(all)
			m.groupAmbig[sols[i].l] = slices.Compact(all)
		}
		i = j
	}
	settled := 0
	for _, t := range tent {
		ps := arena[t.start:t.end]
		ok := !m.singleAtLeast(m.lineEdges(t.l), m.payLive, t.ev) && !m.nearUnsearched(t.l, unsearched)
		for _, pi := range ps {
			if claims[pi] > 1 || m.singleAtLeast(m.payEdges(pi), m.lineLive, t.ev) {
				ok = false
			}
		}
		if !ok {
			m.groupAmbig[t.l] = slices.Clone(ps)
			continue
		}
		m.claim(t.l, ps, KindBatch, "subset", t.ev)
		settled++
	}
	return settled
}

// sol is one batch solution: line l = the payouts arena[start:end].
type sol struct {
	l          int32
	start, end int32
	ev         int8
}

// nearUnsearched reports whether line l could also draw on a block that was not
// fully searched (same currency and sign, arrival day inside l's window, and the
// line carries batch-grade evidence for that block's provider).
func (m *matcher) nearUnsearched(li int32, unsearched []int32) bool {
	l := &m.lines[li]
	for _, b := range unsearched {
		p := &m.pays[b]
		if p.cur != l.cur || (p.amt < 0) != (l.amt < 0) || p.ord < l.ord-int32(m.cfg.After) || p.ord > l.ord+int32(m.cfg.Before) {
			continue
		}
		if m.ev(l, p) >= int8(m.cfg.GroupMinEvidence) {
			return true
		}
	}
	return false
}

func sign(a int64) int {
	if a < 0 {
		return -1
	}
	return 1
}

// singleAtLeast reports whether a node has a live one-to-one candidate with at
// least evidence ev (which would compete with a batch).
func (m *matcher) singleAtLeast(es []edge, live func(int32) bool, ev int8) bool {
	for _, e := range es {
		if e.ev >= ev && live(e.to) {
			return true
		}
	}
	return false
}

// returned pairs each failed payout with its deposit and the bank's return of it
// (rule 7). Both lines must be the unique best candidates and claimed by no
// other failed payout or open payout.
func (m *matcher) returned() {
	if len(m.fails) == 0 {
		return
	}
	slices.SortFunc(m.fails, func(a, b prec) int {
		return strings.Compare(m.t.payoutID(a.i), m.t.payoutID(b.i))
	})
	type ret struct {
		f        int
		dep, rev int32
		ev       int8
	}
	var cands []ret
	uses := map[int32]int{}
	before, after, back := int32(m.cfg.Before), int32(m.cfg.After), int32(m.cfg.ReturnWindow)
	for fi := range m.fails {
		f := &m.fails[fi]
		dep, dev, ok := m.uniqueLine(f, f.amt, f.ord-before, f.ord+after)
		if !ok {
			continue
		}
		d := &m.lines[dep]
		rev, rev2, ok := m.uniqueLine(f, -f.amt, d.ord, d.ord+back)
		if !ok || rev == dep {
			continue
		}
		ev := min(dev, rev2)
		if ev < EvidenceProvider && (!m.payPassed(f) || m.today <= d.ord+back) {
			continue // weak: wait until every competitor could have arrived
		}
		cands = append(cands, ret{f: fi, dep: dep, rev: rev, ev: ev})
		uses[dep]++
		uses[rev]++
	}
	for _, c := range cands {
		if uses[c.dep] > 1 || uses[c.rev] > 1 {
			continue
		}
		f := &m.fails[c.f]
		f.flags |= fDone
		dl, rl := &m.lines[c.dep], &m.lines[c.rev]
		dl.flags |= fDone
		rl.flags |= fDone
		m.marena = append(m.marena, f.i)
		m.mrecs = append(m.mrecs, mrec{amt: m.t.lines[dl.i].amt, date: m.t.lines[dl.i].date, line: dl.i, line2: rl.i, pOff: int32(len(m.marena) - 1), pLen: 1,
			kind: code(kinds, KindReturned), rule: code(rules, "returned"), ev: c.ev})
	}
}

// uniqueLine finds the one live line of amount amt between business days lo..hi
// with the best evidence for failed payout f, provided it has no live
// one-to-one candidate of its own that is as good.
func (m *matcher) uniqueLine(f *prec, amt int64, lo, hi int32) (int32, int8, bool) {
	best, n, at := int8(-1), 0, int32(-1)
	for k := lowerBound(m.lkeys, key{cur: f.cur, amt: amt, ord: lo}); k < len(m.lkeys); k++ {
		lk := m.lkeys[k]
		if lk.cur != f.cur || lk.amt != amt || lk.ord > hi {
			break
		}
		if !m.lineLive(lk.i) {
			continue
		}
		e := m.ev(&m.lines[lk.i], f)
		switch {
		case e > best:
			best, n, at = e, 1, lk.i
		case e == best:
			n++
		}
	}
	if n != 1 || best < 0 || m.lines[at].bev >= best || m.singleAtLeast(m.lineEdges(at), m.payLive, best) {
		return -1, 0, false
	}
	return at, best, true
}
