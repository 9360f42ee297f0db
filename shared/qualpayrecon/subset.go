package qualpayrecon

// Subsets finds sets of indexes of values (1..maxSize of them) whose values
// sum exactly to target, visiting sets in a fixed order (by first index, then
// the next, …) so the answer never depends on map order or timing. It stops
// after limit solutions (2 is enough to know a deposit is ambiguous) or after
// budget sets visited; exhausted reports the latter, so "one solution found"
// is only trusted when the search was complete.
//
// The matcher's batched-deposit search (shared/recon/batch.go) works on
// same-day blocks of payouts inside a run and is not exported; a deposit's
// batches span several days (weekends), so this is the same bounded,
// deterministic idea over one deposit's candidates.
func Subsets(values []int64, target int64, maxSize, budget, limit int) (sols [][]int, exhausted bool) {
	if maxSize <= 0 || limit <= 0 {
		return nil, false
	}
	steps := 0
	path := make([]int, 0, maxSize)
	var dfs func(from int, sum int64) bool // false = stop
	dfs = func(from int, sum int64) bool {
		for i := from; i < len(values); i++ {
			if steps >= budget {
				exhausted = true
				return false
			}
			steps++
			path = append(path, i)
			s := sum + values[i]
			if s == target {
				sols = append(sols, append([]int(nil), path...))
				if len(sols) >= limit {
					return false
				}
			}
			if len(path) < maxSize && !dfs(i+1, s) {
				return false
			}
			path = path[:len(path)-1]
		}
		return true
	}
	dfs(0, 0)
	return sols, exhausted
}
