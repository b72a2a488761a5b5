// Command promql-selectors parses PromQL expressions with Prometheus' own parser
// (github.com/prometheus/prometheus/promql/parser, the module promtool is built
// from) and reports, for each, the parse error or the series selectors it reads.
//
// Input on stdin: a JSON array of expressions. Output on stdout: a JSON array,
// one entry per expression, in order:
//
//	{"error": "1:6: parse error: unknown function with name \"rat\""}
//	{"selectors": [{"metric": "up", "matchers": [["namespace", "=", "a"]]}]}
//
// The tests use it to check that every dashboard panel query parses and reads
// only metrics that are scraped or recorded.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

type selector struct {
	Metric   string      `json:"metric"`
	Matchers [][3]string `json:"matchers"`
}

type result struct {
	Error     string     `json:"error,omitempty"`
	Selectors []selector `json:"selectors,omitempty"`
}

// promtool's parser without --enable-feature flags: what `promtool check rules` accepts.
var promql = parser.NewParser(parser.Options{})

func analyse(expr string) result {
	parsed, err := promql.ParseExpr(expr)
	if err != nil {
		return result{Error: err.Error()}
	}
	var found []selector
	for _, matchers := range parser.ExtractSelectors(parsed) {
		s := selector{Matchers: [][3]string{}}
		for _, m := range matchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				s.Metric = m.Value
				continue
			}
			s.Matchers = append(s.Matchers, [3]string{m.Name, m.Type.String(), m.Value})
		}
		found = append(found, s)
	}
	return result{Selectors: found}
}

func main() {
	var exprs []string
	if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
		fmt.Fprintf(os.Stderr, "promql-selectors: stdin must be a JSON array of PromQL expressions: %v\n", err)
		os.Exit(2)
	}
	results := make([]result, len(exprs))
	for i, expr := range exprs {
		results[i] = analyse(expr)
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintf(os.Stderr, "promql-selectors: writing the results: %v\n", err)
		os.Exit(1)
	}
}
