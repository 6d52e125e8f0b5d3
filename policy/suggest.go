package policy

import (
	"slices"
	"unicode/utf8"
)

// closest returns up to n names within a small edit distance of name, nearest
// first: the did-you-mean of an unknown tool. Names are compared case-sensitively
// (tool names are lower case); a name longer than any tool name by far matches
// nothing, and the comparison never looks at more than maxCompare bytes of it.
func closest(name string, names []string, n int) []string {
	const maxCompare = 64
	if len(name) > maxCompare {
		return nil
	}
	type scored struct {
		name string
		dist int
	}
	var found []scored
	for _, c := range names {
		// Allow one edit per four letters, at least two: "list_vm" → list_vms,
		// "poweron_vm" → power_on_vm, but not "get" → every get_ tool.
		limit := max(2, len(c)/4)
		if d := editDistance(name, c); d <= limit && d < len(c) {
			found = append(found, scored{c, d})
		}
	}
	slices.SortStableFunc(found, func(a, b scored) int { return a.dist - b.dist })
	out := make([]string, 0, n)
	for _, f := range found {
		if len(out) == n {
			break
		}
		out = append(out, f.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does not split a
// character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
