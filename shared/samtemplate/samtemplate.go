// Package samtemplate reads template.yaml for local use: the HttpApi routes, so the local
// runner and tests serve exactly the routes that API Gateway will, and the table definition,
// so local tables match the deployed one. Only local code imports it (yaml.v3 stays out of Lambdas).
package samtemplate

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Route is one HttpApi event of a function.
type Route struct {
	Function  string // folder name under functions/ (from CodeUri)
	LogicalID string
	Method    string // GET, POST, … or ANY
	Path      string // API Gateway syntax: /v1/companies/{id}, /{proxy+}
}

// Pattern is the route in Go 1.22 ServeMux syntax ("GET /v1/companies/{id}").
func (r Route) Pattern() string {
	p := strings.ReplaceAll(r.Path, "+}", "...}")
	if r.Method == "" || strings.EqualFold(r.Method, "ANY") {
		return p
	}
	return strings.ToUpper(r.Method) + " " + p
}

// Routes parses the template's HttpApi events, sorted by path then method.
func Routes(templatePath string) ([]Route, error) {
	var tpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				CodeUri string `yaml:"CodeUri"`
				Events  map[string]struct {
					Type       string `yaml:"Type"`
					Properties struct {
						Path   string `yaml:"Path"`
						Method string `yaml:"Method"`
					} `yaml:"Properties"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := decode(templatePath, &tpl); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	var out []Route
	for id, res := range tpl.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		fn := path.Base(strings.TrimSuffix(res.Properties.CodeUri, "/"))
		for _, ev := range res.Properties.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			out = append(out, Route{Function: fn, LogicalID: id, Method: strings.ToUpper(ev.Properties.Method), Path: ev.Properties.Path})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out, nil
}

// Functions returns the logical ID -> folder name of every function in the template.
func Functions(templatePath string) (map[string]string, error) {
	fns, err := FunctionSettings(templatePath)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(fns))
	for id, f := range fns {
		out[id] = f.Dir
	}
	return out, nil
}

// decode reads the template into v. CloudFormation short-form tags (!Ref,
// !Sub …) are not standard YAML types: decoding into a yaml.Node first and
// clearing them lets v read plain values.
func decode(templatePath string, v any) error {
	raw, err := os.ReadFile(templatePath)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("parse template: %w", err)
	}
	clearTags(&doc)
	if err := doc.Decode(v); err != nil {
		return fmt.Errorf("decode template: %w", err)
	}
	return nil
}

func clearTags(n *yaml.Node) {
	if n.Tag != "" && n.Tag[0] == '!' {
		n.Tag = ""
	}
	for _, c := range n.Content {
		clearTags(c)
	}
}
