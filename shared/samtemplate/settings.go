package samtemplate

import (
	"path"
	"strings"
)

// Function is what the runtime needs to know about one AWS::Serverless::Function:
// its folder and the limits Lambda would give it (the function's own values, or Globals).
type Function struct {
	LogicalID string
	Dir       string // folder name under functions/ (from CodeUri)
	Timeout   int    // seconds
	MemoryMB  int
}

// FunctionSettings returns every function of the template by logical ID.
func FunctionSettings(templatePath string) (map[string]Function, error) {
	type limits struct {
		CodeUri    string `yaml:"CodeUri"`
		Timeout    int    `yaml:"Timeout"`
		MemorySize int    `yaml:"MemorySize"`
	}
	var tpl struct {
		Globals struct {
			Function limits `yaml:"Function"`
		} `yaml:"Globals"`
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties limits `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := decode(templatePath, &tpl); err != nil {
		return nil, err
	}
	// Lambda's own defaults when neither the function nor Globals sets them.
	g := tpl.Globals.Function
	if g.Timeout == 0 {
		g.Timeout = 3
	}
	if g.MemorySize == 0 {
		g.MemorySize = 128
	}
	out := map[string]Function{}
	for id, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		f := Function{LogicalID: id, Dir: path.Base(strings.TrimSuffix(r.Properties.CodeUri, "/")),
			Timeout: r.Properties.Timeout, MemoryMB: r.Properties.MemorySize}
		if f.Timeout == 0 {
			f.Timeout = g.Timeout
		}
		if f.MemoryMB == 0 {
			f.MemoryMB = g.MemorySize
		}
		out[id] = f
	}
	return out, nil
}
