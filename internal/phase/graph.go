package phase

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// node is one phase in the dependency graph, with what the engine reads from
// it once, up front.
type node struct {
	p        Phase
	name     string
	title    string
	group    string
	requires []string // deduplicated, in the order the phase gave them
	index    int      // position in the slice given to Run or Plan
	level    int      // 0 without requirements, else 1 + the highest level required

	deps       []*node
	dependants []*node // in topological order
}

// graph is a validated, acyclic set of phases in topological order: by level,
// then in the order they were given.
type graph struct {
	nodes  []*node
	byName map[string]*node
}

// Validate checks that phases form a graph the engine can run: every phase has
// a unique, non-empty name, every requirement is among the phases, and there
// is no dependency cycle. It returns a *GraphError listing every problem.
func Validate(phases []Phase) error {
	_, err := buildGraph(phases)
	return err
}

func buildGraph(phases []Phase) (*graph, error) {
	var problems []string
	g := &graph{byName: make(map[string]*node, len(phases))}
	all := make([]*node, 0, len(phases))
	for i, p := range phases {
		n, err := describe(i, p)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if n.name == "" {
			problems = append(problems, fmt.Sprintf("phase #%d (%q) has no name", i+1, n.title))
			continue
		}
		if prev, ok := g.byName[n.name]; ok {
			problems = append(problems, fmt.Sprintf("phase name %q is used twice (phases #%d and #%d)", n.name, prev.index+1, i+1))
			continue
		}
		g.byName[n.name] = n
		all = append(all, n)
	}
	for _, n := range all {
		for _, r := range n.requires {
			d, ok := g.byName[r]
			if !ok {
				problems = append(problems, fmt.Sprintf("phase %q requires %q, which is not among the phases of this run", n.name, r))
				continue
			}
			n.deps = append(n.deps, d)
			d.dependants = append(d.dependants, n)
		}
	}
	if len(problems) > 0 {
		return nil, &GraphError{Problems: problems}
	}
	if cycles := findCycles(all); len(cycles) > 0 {
		for _, c := range cycles {
			problems = append(problems, "dependency cycle: "+strings.Join(c, " → ")+" (each requires the next)")
		}
		return nil, &GraphError{Problems: problems}
	}
	assignLevels(all)
	g.nodes = slices.Clone(all)
	sort.SliceStable(g.nodes, func(i, j int) bool {
		if g.nodes[i].level != g.nodes[j].level {
			return g.nodes[i].level < g.nodes[j].level
		}
		return g.nodes[i].index < g.nodes[j].index
	})
	pos := make(map[*node]int, len(g.nodes))
	for i, n := range g.nodes {
		pos[n] = i
	}
	for _, n := range g.nodes {
		sort.SliceStable(n.dependants, func(i, j int) bool { return pos[n.dependants[i]] < pos[n.dependants[j]] })
	}
	return g, nil
}

// describe reads a phase's identity; a nil phase or a panic there is a graph
// problem rather than a crash.
func describe(i int, p Phase) (n *node, err error) {
	if p == nil {
		return nil, fmt.Errorf("phase #%d is nil", i+1)
	}
	defer func() {
		if v := recover(); v != nil {
			n, err = nil, fmt.Errorf("phase #%d (%T) panicked while describing itself: %v", i+1, p, v)
		}
	}()
	n = &node{p: p, name: p.Name(), title: p.Title(), index: i}
	if g, ok := p.(Grouped); ok {
		n.group = g.Group()
	}
	seen := map[string]bool{}
	for _, r := range p.Requires() {
		if !seen[r] {
			seen[r] = true
			n.requires = append(n.requires, r)
		}
	}
	return n, nil
}

// findCycles returns each cycle found by a depth-first search, as the names
// along it with the first repeated at the end.
func findCycles(nodes []*node) [][]string {
	const (
		white = iota
		grey
		black
	)
	color := make(map[*node]int, len(nodes))
	var stack []*node
	var cycles [][]string
	var visit func(n *node)
	visit = func(n *node) {
		color[n] = grey
		stack = append(stack, n)
		for _, d := range n.deps {
			switch color[d] {
			case white:
				visit(d)
			case grey:
				start := slices.Index(stack, d)
				// Each phase on the stack requires the next one.
				var c []string
				for _, m := range stack[start:] {
					c = append(c, m.name)
				}
				c = append(c, d.name)
				cycles = append(cycles, c)
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	for _, n := range nodes {
		if color[n] == white {
			visit(n)
		}
	}
	return cycles
}

func assignLevels(nodes []*node) {
	done := make(map[*node]bool, len(nodes))
	var level func(n *node) int
	level = func(n *node) int {
		if done[n] {
			return n.level
		}
		l := 0
		for _, d := range n.deps {
			if dl := level(d) + 1; dl > l {
				l = dl
			}
		}
		n.level, done[n] = l, true
		return l
	}
	for _, n := range nodes {
		level(n)
	}
}
