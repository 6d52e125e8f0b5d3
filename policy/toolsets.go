package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Keywords of [Options.Toolsets].
const (
	ToolsetsAll     = "all"
	ToolsetsDefault = "default"
	ToolsetsNone    = "none"
)

// selectTools decides which tools of the catalogue are enabled: those of the named
// toolsets (and the always-on ones), plus opts.Tools, minus opts.ExcludeTools. It
// returns the enabled tool names and the enabled toolsets (a toolset counts as
// enabled when at least one of its tools is). Unknown names are an error that lists
// the valid ones, so that a typo stops the server instead of hiding tools.
func selectTools(catalogue []Tool, opts Options) (map[string]bool, []string, error) {
	known := map[string]bool{}
	byName := map[string]Tool{}
	for _, t := range catalogue {
		known[t.Toolset] = true
		byName[t.Name] = t
	}
	validSets := sortedKeys(known)
	validTools := sortedKeys(byName)

	sets := map[string]bool{}
	for _, s := range opts.AlwaysToolsets {
		sets[s] = true
	}
	names := opts.Toolsets
	if len(nonEmpty(names)) == 0 {
		names = []string{ToolsetsDefault}
	}
	var problems []string
	for _, n := range nonEmpty(names) {
		switch n {
		case ToolsetsAll:
			for s := range known {
				sets[s] = true
			}
		case ToolsetsDefault:
			for _, s := range opts.DefaultToolsets {
				sets[s] = true
			}
		case ToolsetsNone:
		default:
			if !known[n] {
				problems = append(problems, fmt.Sprintf("VSPHERE_TOOLSETS (--toolsets): unknown toolset %s; toolsets: %s, or %s, %s, %s",
					display(n), strings.Join(validSets, ", "), ToolsetsAll, ToolsetsDefault, ToolsetsNone))
				continue
			}
			sets[n] = true
		}
	}
	enabled := map[string]bool{}
	for _, t := range catalogue {
		if sets[t.Toolset] {
			enabled[t.Name] = true
		}
	}
	for _, n := range nonEmpty(opts.Tools) {
		if _, ok := byName[n]; !ok {
			problems = append(problems, fmt.Sprintf("VSPHERE_TOOLS (--tools): unknown tool %s%s; tools: %s", display(n), didYouMean(n, validTools), strings.Join(validTools, ", ")))
			continue
		}
		enabled[n] = true
	}
	for _, n := range nonEmpty(opts.ExcludeTools) {
		if _, ok := byName[n]; !ok {
			problems = append(problems, fmt.Sprintf("VSPHERE_EXCLUDE_TOOLS (--exclude-tools): unknown tool %s%s; tools: %s", display(n), didYouMean(n, validTools), strings.Join(validTools, ", ")))
			continue
		}
		delete(enabled, n)
	}
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	on := map[string]bool{}
	for n := range enabled {
		on[byName[n].Toolset] = true
	}
	return enabled, sortedKeys(on), nil
}

func didYouMean(name string, valid []string) string {
	if c := closest(name, valid, 2); len(c) > 0 {
		return " (did you mean " + strings.Join(c, " or ") + "?)"
	}
	return ""
}

// nonEmpty drops blank entries and surrounding space from a comma list's items.
func nonEmpty(items []string) []string {
	out := make([]string, 0, len(items))
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return slices.Clip(out)
}

// Enabled reports whether the toolset selection enables the tool named name,
// whatever the roles and read-only mode say.
func (p *Policy) Enabled(name string) bool { return p.enabled[name] }
